package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.spi.DeploymentRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the controller process in the middle of a rollout through three real agents; a new
 * controller process on the same database resumes it, and every node's step ran exactly once.
 */
class ControllerRestartTest {
    @TempDir
    Path dir;
    final List<Process> controllers = new ArrayList<>();
    final List<AgentFixtures.AgentProcess> agents = new ArrayList<>();

    @AfterEach
    void tearDown() {
        controllers.forEach(Process::destroyForcibly);
        agents.forEach(AgentFixtures.AgentProcess::close);
    }

    private Process controller(List<String> args, String log) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), ControllerMain.class.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(log).toFile()).start();
        controllers.add(p);
        return p;
    }

    @Test
    void aNewControllerFinishesTheRolloutAndNoStepRunsTwice() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        String schema = PostgresFixture.newSchema();
        int port = freePort();
        List<String> args = List.of("--url", PostgresFixture.url(), "--user", PostgresFixture.user(), "--password",
                PostgresFixture.password(), "--schema", schema, "--port", Integer.toString(port), "--ca", pki.ca().toString(),
                "--cert", pki.serverCert().toString(), "--key", pki.serverKey().toString(), "--token", AgentFixtures.TOKEN,
                "--artifacts", dir.resolve("artifacts").toString(), "--lease-ms", "3000");
        List<String> first = new ArrayList<>(args);
        first.addAll(List.of("--start", "3"));
        Process controller1 = controller(first, "controller-1.log");
        Path token = AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN);
        for (String id : List.of("n1", "n2", "n3")) {
            Path root = Files.createDirectories(dir.resolve("root-" + id));
            agents.add(new AgentFixtures.AgentProcess(dir.resolve(id), AgentFixtures.tlsArgs(pki, token, port, id, dir.resolve(id), root)).start());
        }
        // mid-rollout: n1 is done, n2's step is running
        AgentFixtures.waitUntil(Duration.ofSeconds(90), () -> Files.exists(dir.resolve("root-n2/counter")), "n2's step to start");
        controller1.destroyForcibly();
        controller1.waitFor(10, TimeUnit.SECONDS);

        controller(args, "controller-2.log");
        try (PostgresStore store = PostgresStore.builder(PostgresFixture.url()).user(PostgresFixture.user())
                .password(PostgresFixture.password()).schema(schema).build()) {
            AgentFixtures.waitUntil(Duration.ofMinutes(3), () -> store.deployments().stream().allMatch(d -> d.status().isTerminal()),
                    "the resumed deployment to finish");
            DeploymentRecord d = store.deployments().get(0);
            assertEquals(DeploymentStatus.SUCCEEDED, d.status(), store.tasks(d.id()).toString());
            for (NodeTask t : store.tasks(d.id())) {
                assertEquals(NodeStatus.SUCCEEDED, t.status(), t.toString());
            }
            assertTrue(store.events(d.id(), 0).stream().anyMatch(e -> e instanceof dev.deploykit.DeployEvent.NodeStatusChanged n
                    && n.serverId().equals("n2") && n.message().equals("re-sent after a controller restart")),
                    "n2's in-flight step was re-sent by the new controller");
            long[] seqs = store.events(d.id(), 0).stream().mapToLong(e -> e.seq()).toArray();
            for (int i = 0; i < seqs.length; i++) {
                assertEquals(i + 1, seqs[i], "event log without gaps or duplicates");
            }
        }
        for (String id : List.of("n1", "n2", "n3")) {
            assertEquals(List.of("run"), Files.readAllLines(dir.resolve("root-" + id + "/counter")), id + "'s step ran exactly once");
        }

    }

    private static int freePort() throws Exception {
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
