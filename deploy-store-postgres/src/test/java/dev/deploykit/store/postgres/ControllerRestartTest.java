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
 * kill -9 of a controller process in the middle of a rollout through three real agents: a new
 * controller process on the same database resumes it, or a second controller that was running all
 * along takes it over when the lease runs out; either way every node's step ran exactly once.
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

    private static final long LEASE_MS = 3000;

    private List<String> controllerArgs(AgentFixtures.Pki pki, String schema, int port, String id) {
        return new ArrayList<>(List.of("--url", PostgresFixture.url(), "--user", PostgresFixture.user(), "--password",
                PostgresFixture.password(), "--schema", schema, "--port", Integer.toString(port), "--ca", pki.ca().toString(),
                "--cert", pki.serverCert().toString(), "--key", pki.serverKey().toString(), "--token", AgentFixtures.TOKEN,
                "--artifacts", dir.resolve("artifacts-" + id).toString(), "--lease-ms", Long.toString(LEASE_MS), "--id", id));
    }

    /** Starts agents n1..n3 dialing {@code controllers} ("host:port,host:port"). */
    private void startAgents(AgentFixtures.Pki pki, String controllers) throws Exception {
        startAgents(pki, controllers, controllers, controllers);
    }

    /** Starts agents n1, n2, n3, each dialing its own list of controllers. */
    private void startAgents(AgentFixtures.Pki pki, String... controllersOf) throws Exception {
        Path token = AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN);
        for (int i = 0; i < 3; i++) {
            String id = "n" + (i + 1);
            String controllers = controllersOf[i];
            Path root = Files.createDirectories(dir.resolve("root-" + id));
            List<String> args = AgentFixtures.tlsArgs(pki, token, 0, id, dir.resolve(id), root);
            args.set(args.indexOf("--controller") + 1, controllers);
            agents.add(new AgentFixtures.AgentProcess(dir.resolve(id), args).start());
        }
    }

    /** Kills the first controller once n1 is done and n2's step is running. */
    private void killMidRollout(Process controller) throws Exception {
        AgentFixtures.waitUntil(Duration.ofSeconds(90), () -> Files.exists(dir.resolve("root-n2/counter")), "n2's step to start");
        controller.destroyForcibly();
        controller.waitFor(10, TimeUnit.SECONDS);
    }

    /** Waits for the one deployment to finish and checks it succeeded with a gap-free log; returns it. */
    private DeploymentRecord awaitSuccess(String schema) throws Exception {
        return awaitSuccess(schema, true);
    }

    /** As {@link #awaitSuccess(String)}; {@code resent}: n2's step must have been re-sent by a new controller. */
    private DeploymentRecord awaitSuccess(String schema, boolean resent) throws Exception {
        try (PostgresStore store = PostgresStore.builder(PostgresFixture.url()).user(PostgresFixture.user())
                .password(PostgresFixture.password()).schema(schema).build()) {
            AgentFixtures.waitUntil(Duration.ofMinutes(3), () -> store.deployments().stream().allMatch(d -> d.status().isTerminal()),
                    "the resumed deployment to finish");
            DeploymentRecord d = store.deployments().get(0);
            assertEquals(DeploymentStatus.SUCCEEDED, d.status(), store.tasks(d.id()).toString());
            for (NodeTask t : store.tasks(d.id())) {
                assertEquals(NodeStatus.SUCCEEDED, t.status(), t.toString());
            }
            assertTrue(!resent || store.events(d.id(), 0).stream().anyMatch(e -> e instanceof dev.deploykit.DeployEvent.NodeStatusChanged n
                    && n.serverId().equals("n2") && n.message().equals("re-sent after a controller restart")),
                    "n2's in-flight step was re-sent by the new controller");
            long[] seqs = store.events(d.id(), 0).stream().mapToLong(e -> e.seq()).toArray();
            for (int i = 0; i < seqs.length; i++) {
                assertEquals(i + 1, seqs[i], "event log without gaps or duplicates");
            }
            for (String id : List.of("n1", "n2", "n3")) {
                assertEquals(List.of("run"), Files.readAllLines(dir.resolve("root-" + id + "/counter")), id + "'s step ran exactly once");
            }
            return d;
        }
    }

    @Test
    void aNewControllerFinishesTheRolloutAndNoStepRunsTwice() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        String schema = PostgresFixture.newSchema();
        int port = freePort();
        List<String> first = controllerArgs(pki, schema, port, "controller-1");
        first.addAll(List.of("--start", "3"));
        Process controller1 = controller(first, "controller-1.log");
        startAgents(pki, "127.0.0.1:" + port);
        killMidRollout(controller1);
        controller(controllerArgs(pki, schema, port, "controller-2"), "controller-2.log");
        awaitSuccess(schema);
    }

    /**
     * n1's agent is connected to controller B, n2's and n3's to A, which starts the rollout: A relays
     * n1's step to B through the database. Then A is killed while n2's step runs: B takes the
     * deployment over within the lease, n2 and n3 move to B, and B finishes it.
     */
    @Test
    void twoControllersWithAgentsSplitRunOneRolloutAndTheSurvivorTakesOver() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        String schema = PostgresFixture.newSchema();
        int portA = freePort();
        int portB = freePort();
        // agents stay with the first controller that answers: let that be A, which starts the rollout
        Process controllerA = twoControllers(pki, schema, portA, portB, "--start", "3");
        // the agents know both controllers, start with the first in their list, and move on when it drops
        String a = "127.0.0.1:" + portA;
        String b = "127.0.0.1:" + portB;
        startAgents(pki, b + "," + a, a + "," + b, a + "," + b);
        killMidRollout(controllerA);
        java.time.Instant killed = java.time.Instant.now();
        DeploymentRecord d = awaitSuccess(schema);
        try (PostgresStore store = PostgresStore.builder(PostgresFixture.url()).user(PostgresFixture.user())
                .password(PostgresFixture.password()).schema(schema).build()) {
            java.time.Instant takenOver = store.events(d.id(), 0).stream()
                    .filter(e -> e instanceof dev.deploykit.DeployEvent.NodeStatusChanged n && n.message().equals("re-sent after a controller restart"))
                    .findFirst().orElseThrow().time();
            // the lease, plus one takeover check (a third of it), plus slack for a loaded machine
            Duration took = Duration.between(killed, takenOver);
            assertTrue(took.toMillis() < LEASE_MS + LEASE_MS / 3 + 3000, "controller-b took over after " + took);
            try (var c = store.dataSource().getConnection(); var rs = c.createStatement().executeQuery(
                    "select owner, epoch from deployments where id = '" + d.id() + "'")) {
                rs.next();
                assertEquals("controller-b", rs.getString(1));
                assertEquals(2, rs.getLong(2), "one takeover, one fencing epoch more");
            }
        }
    }

    /**
     * Controller A, stopped with SIGSTOP past its lease while n1's 12 s step runs, wakes up after B
     * took the deployment over: A detaches without sending anything to the node (no CancelTask), so
     * the step B re-sent under the same key finishes, the deployment succeeds and each step ran once.
     * Before, A's interrupted node thread cancelled the step and B's deployment failed.
     */
    @Test
    void aControllerStoppedPastItsLeaseNeverCancelsTheStepItsSuccessorTookOver() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        String schema = PostgresFixture.newSchema();
        int portA = freePort();
        int portB = freePort();
        Process controllerA = twoControllers(pki, schema, portA, portB, "--start", "3", "--step-seconds", "12");
        String a = "127.0.0.1:" + portA;
        String b = "127.0.0.1:" + portB;
        startAgents(pki, a + "," + b);
        AgentFixtures.waitUntil(Duration.ofSeconds(90), () -> Files.exists(dir.resolve("root-n1/counter")), "n1's step to start");
        signal("STOP", controllerA);
        Thread.sleep(8_000);
        signal("CONT", controllerA);
        awaitSuccess(schema, false);
    }

    /** Controllers A (with {@code extraA}) and B on one schema, both up; returns A. */
    private Process twoControllers(AgentFixtures.Pki pki, String schema, int portA, int portB, String... extraA) throws Exception {
        List<String> argsA = controllerArgs(pki, schema, portA, "controller-a");
        argsA.addAll(List.of(extraA));
        Process controllerA = controller(argsA, "controller-a.log");
        controller(controllerArgs(pki, schema, portB, "controller-b"), "controller-b.log");
        for (String log : List.of("controller-a.log", "controller-b.log")) {
            AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> readQuietly(dir.resolve(log)).contains("controller up"), log);
        }
        return controllerA;
    }

    private static void signal(String signal, Process p) throws Exception {
        new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start().waitFor();
    }

    private static String readQuietly(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static int freePort() throws Exception {
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
