package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.HealthCheck;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.spi.SecretSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One plan behaves the same on every transport: hooks and health checks run in the node's root with
 * the same {@code DEPLOYKIT_*} variables on a local node, a real agent and a real OpenSSH host; a
 * failed check shows its last output lines in the node's message.
 */
class ExecutionContextTest {
    static final String RECORD = "printf '%s|%s|%s|%s|%s|%s|%s\\n' \"$PWD\" \"$DEPLOYKIT_ROOT\" \"$DEPLOYKIT_SERVER\" \"$DEPLOYKIT_PHASE\" "
            + "\"$DEPLOYKIT_PACKAGE\" \"$DEPLOYKIT_VERSION\" \"$DEPLOYKIT_PREVIOUS_VERSION\" >> context";

    @TempDir
    Path dir;

    @Test
    void hooksAndHealthChecksGetTheSameContextOnEveryTransport() throws Exception {
        try (AllTransports all = new AllTransports(dir, SecretSource.none())) {
            Path bundle = ScriptBundle.builder("ctx-app", "1.0").script("install", "true").writeTo(dir.resolve("ctx-app-1.0.tar.gz"));
            all.kit.packages().publish(bundle);
            Command record = Command.of("/bin/sh", "-c", RECORD);
            Deployment d = all.kit.start(DeployPlan.builder().action(Action.install("ctx-app", "1.0"))
                    .targetServers(AllTransports.NODES.toArray(String[]::new)).batch(BatchSize.percent(100))
                    .beforeHook(record).afterHook(record).healthCheck(HealthCheck.of(record, 0, Duration.ZERO)).build());
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(2)), d.tasks().toString());
            for (String node : AllTransports.NODES) {
                String root = all.root(node).toString();
                assertEquals(List.of(
                        String.join("|", root, root, node, "before-hooks", "ctx-app", "1.0", ""),
                        String.join("|", root, root, node, "after-hooks", "ctx-app", "1.0", ""),
                        String.join("|", root, root, node, "health-check", "ctx-app", "1.0", "")),
                        Files.readAllLines(all.root(node).resolve("context")), node);
            }
        }
    }

    @Test
    void aFailedHealthCheckShowsItsLastOutputLinesAndTheStepTimeoutItRanUnder() throws Exception {
        try (AllTransports all = new AllTransports(dir, SecretSource.none())) {
            Command chatty = Command.of("/bin/sh", "-c", "for i in 1 2 3 4 5 6 7; do echo \"line $i\"; done; exit 4");
            Command hangs = Command.of("sleep", "30");
            Deployment d = all.kit.start(DeployPlan.builder().action(Action.runScripts(dev.deploykit.ScriptSet.of("s",
                    dev.deploykit.Script.of("noop", Command.of("true"))))).targetServers("local-1", "agent-1")
                    .healthCheck(HealthCheck.of(chatty, 0, Duration.ZERO)).maxFailed(BatchSize.count(2)).build());
            d.await(Duration.ofMinutes(1));
            for (NodeTask t : d.tasks()) {
                assertEquals(NodeStatus.FAILED, t.status());
                assertTrue(t.message().endsWith("exited 4: line 3\nline 4\nline 5\nline 6\nline 7"), t.message());
            }
            Deployment slow = all.kit.start(DeployPlan.builder().action(Action.runScripts(dev.deploykit.ScriptSet.of("s",
                    dev.deploykit.Script.of("hang", hangs)))).targetServers("ssh-1").stepTimeout(Duration.ofSeconds(2)).build());
            slow.await(Duration.ofMinutes(1));
            String message = slow.tasks().get(0).message();
            assertTrue(message.contains("timed out after PT2S"), message);
        }
    }
}
