package dev.deploykit.examples.quickstart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuickstartTest {
    @TempDir
    Path tmp;

    @Test
    void rollsOutThenRollsBackTheFailedUpgrade() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        List<Deployment> runs = new Quickstart(tmp, new PrintStream(buf, true, StandardCharsets.UTF_8)).run();
        String output = buf.toString(StandardCharsets.UTF_8);

        assertEquals(DeploymentStatus.SUCCEEDED, runs.get(0).status(), output);
        assertEquals(DeploymentStatus.ROLLED_BACK, runs.get(1).status(), output);
        Map<String, NodeStatus> second = runs.get(1).tasks().stream().collect(Collectors.toMap(NodeTask::serverId, NodeTask::status));
        assertEquals(NodeStatus.ROLLED_BACK, second.get(Quickstart.BROKEN));
        assertEquals(NodeStatus.CANCELLED, second.get("web-4"));
        for (String id : List.of("api-1", "api-2", "web-1", "web-2", "web-3", "web-4")) {
            assertEquals("version=1.0.0", Files.readString(tmp.resolve("nodes/" + id + "/opt/demo-app/app.conf")).trim(), id);
        }
        assertTrue(output.contains("[batch 0 canary] starting [api-1]"), output);
        assertTrue(output.contains("health check attempt 1 of 3 failed"), output);
        assertTrue(output.contains("ROLLED_BACK"), output);
    }

    @Test
    void onRealHostsTheDebsAreInstalledAndRolledBackWithAptGet() throws Exception {
        String missing = QuickstartHosts.missing();
        if (missing != null) {
            dev.deploykit.Requirements.missing("the quickstart's --hosts scenario needs " + missing);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        QuickstartHosts hosts = new QuickstartHosts(Files.createTempDirectory(Path.of("/var/tmp"), "quickstart-hosts-test-"),
                new PrintStream(buf, true, StandardCharsets.UTF_8));
        List<Deployment> runs = hosts.run();
        String output = buf.toString(StandardCharsets.UTF_8);

        assertEquals(DeploymentStatus.SUCCEEDED, runs.get(0).status(), output);
        assertEquals(DeploymentStatus.ROLLED_BACK, runs.get(1).status(), output);
        Map<String, NodeStatus> second = runs.get(1).tasks().stream().collect(Collectors.toMap(NodeTask::serverId, NodeTask::status));
        assertEquals(Map.of("h1", NodeStatus.ROLLED_BACK, "h2", NodeStatus.ROLLED_BACK, "h3", NodeStatus.CANCELLED), second, output);
        for (String host : QuickstartHosts.HOSTS) {
            assertTrue(output.contains("  " + host + "   demo-app 1.0.0"), "dpkg on " + host + " says 1.0.0 after the rollback:\n" + output);
        }
        assertTrue(output.contains("hosts removed"), output);
    }
}
