package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A server removed while a deployment targets it: refused unless forced, and then its task fails alone. */
class RemovedServerTest {
    @TempDir
    Path tmp;

    @Test
    void removingATargetIsRefusedUnlessForcedAndThenOnlyItsTaskFails() throws Exception {
        try (Cluster cluster = new Cluster(tmp, 3)) {
            Command slow = Command.of("sleep", "1");
            Deployment d = cluster.kit.start(DeployPlan.builder().action(Action.runScripts(ScriptSet.of("s", Script.of("slow", slow))))
                    .targetAll().batch(BatchSize.count(1)).maxFailed(BatchSize.count(1)).build());
            ConflictException refused = assertThrows(ConflictException.class, () -> cluster.kit.servers().remove("n03"));
            assertTrue(refused.getMessage().contains(d.id()), refused.getMessage());
            assertTrue(cluster.kit.servers().remove("n03", true));

            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)), d.tasks().toString());
            Map<String, NodeStatus> statuses = cluster.statuses(d);
            assertEquals(Map.of("n01", NodeStatus.SUCCEEDED, "n02", NodeStatus.SUCCEEDED, "n03", NodeStatus.FAILED), statuses);
            NodeTask n3 = d.tasks().stream().filter(t -> t.serverId().equals("n03")).findFirst().orElseThrow();
            assertEquals("server n03 was removed while this deployment ran", n3.message());
            assertTrue(cluster.kit.servers().remove("n01"), "a finished deployment holds nothing back");
        }
    }
}
