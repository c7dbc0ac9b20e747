package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.DeployKit;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.transport.local.LocalTransport;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SIGTERM of a controller that called closeOnShutdown() releases its deployment at once: no waiting out a 30 s lease. */
class GracefulShutdownTest {
    @TempDir
    Path dir;

    @Test
    void aTerminatedControllerReleasesItsDeploymentAndAnotherFinishesItWithoutWaitingForTheLease() throws Exception {
        String schema = PostgresFixture.newSchema();
        Process controller = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), LocalControllerMain.class.getName(), "--url", PostgresFixture.url(),
                "--user", PostgresFixture.user(), "--password", PostgresFixture.password(), "--schema", schema, "--dir", dir.toString())
                .redirectErrorStream(true).start();
        String id;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(controller.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("started ")) {
                // the controller's log
            }
            assertTrue(line != null, "the controller started a deployment");
            id = line.substring("started ".length());
            controller.destroy(); // SIGTERM
            assertTrue(controller.waitFor(30, TimeUnit.SECONDS), "the controller exited");
        }
        try (Connection c = DriverManager.getConnection(PostgresFixture.url(), PostgresFixture.user(), PostgresFixture.password());
                ResultSet rs = c.createStatement().executeQuery("select owner, status from " + schema + ".deployments where id = '" + id + "'")) {
            assertTrue(rs.next());
            assertEquals(null, rs.getString(1), "the lease was released on SIGTERM");
            // SIGTERM may come before the run moved it on from PLANNED: any unfinished status is taken over
            assertTrue(List.of("PLANNED", "RUNNING", "PAUSED").contains(rs.getString(2)), "left unfinished, not cancelled: " + rs.getString(2));
        }
        long start = System.nanoTime();
        try (DeployKit next = DeployKit.builder().store(PostgresFixture.freshStore().schema(schema).controllerId("next").build())
                .transport(LocalTransport.create()).artifactDir(dir.resolve("artifacts")).build()) {
            Deployment d = next.deployment(id).orElseThrow();
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)), d.tasks().toString());
        }
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 25, "taken over at once, not after the 30 s lease");
    }
}
