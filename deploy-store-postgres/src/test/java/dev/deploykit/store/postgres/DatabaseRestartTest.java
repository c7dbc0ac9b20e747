package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.Server;
import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A PostgreSQL restart in the middle of a deployment: it completes, and its event log has no gap or duplicate. */
class DatabaseRestartTest {
    @TempDir
    Path dir;

    /** Restarts the local cluster; only possible when the tests use the local server. */
    private static void restartLocalPostgres() throws Exception {
        Path clusters = Path.of("/etc/postgresql");
        String version;
        try (var versions = Files.list(clusters)) {
            version = versions.map(p -> p.getFileName().toString()).sorted().reduce((a, b) -> b).orElseThrow();
        }
        Process p = new ProcessBuilder("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
    }

    @Test
    void aDatabaseRestartMidDeploymentIsRidenThrough() throws Exception {
        String url = PostgresFixture.url();
        boolean local = url.contains("127.0.0.1:5432") && Files.isDirectory(Path.of("/etc/postgresql"))
                && "root".equals(System.getProperty("user.name"));
        if (!local) {
            String message = "restarting PostgreSQL needs the local server and root (pg_ctlcluster); tests use " + url
                    + " as " + System.getProperty("user.name");
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError(message);
            }
            Assumptions.abort(message);
        }
        PostgresStore store = PostgresFixture.freshStore().retryFor(Duration.ofSeconds(60)).build();
        try (DeployKit kit = DeployKit.builder().store(store).transport(LocalTransport.create()).artifactDir(dir.resolve("artifacts")).build()) {
            for (int i = 1; i <= 4; i++) {
                kit.servers().register(Server.of("n" + i, Binding.local(dir.resolve("n" + i)), Map.of("role", "app")));
            }
            Deployment d = kit.start(DeployPlan.builder()
                    .action(Action.runScripts(ScriptSet.of("work", Script.of("tick",
                            Command.shell("for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done; echo run >> counter")))))
                    .targetSelector("role=app").batch(BatchSize.count(1)).build());
            while (!Files.exists(dir.resolve("n2/counter"))) {
                Thread.sleep(20);
            }
            restartLocalPostgres();
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(2)), d.tasks().toString());
            assertTrue(store.retries() > 0, "the restart interrupted the store and was retried through");
            for (NodeTask t : d.tasks()) {
                assertEquals(NodeStatus.SUCCEEDED, t.status());
                assertEquals(List.of("run"), Files.readAllLines(dir.resolve(t.serverId() + "/counter")));
            }
            List<DeployEvent> log = d.events();
            for (int i = 0; i < log.size(); i++) {
                assertEquals(i + 1, log.get(i).seq(), "no gap or duplicate at position " + i);
            }
            assertTrue(log.stream().filter(DeployEvent.NodeOutput.class::isInstance).count() >= 20, "every output line is in the log");
        }
        PostgresFixture.dropTestSchemas();
    }
}
