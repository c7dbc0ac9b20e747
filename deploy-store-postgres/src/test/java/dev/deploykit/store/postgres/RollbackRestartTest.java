package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.Server;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.transport.grpc.AgentGateway;
import dev.deploykit.transport.local.LocalTransport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A controller stopped in the middle of a rollback: the next controller on the same database resumes
 * the rollback, not the rollout, even when the node that failed has been fixed meanwhile.
 */
class RollbackRestartTest {
    @TempDir
    Path dir;

    private DeployKit kit(String schema) {
        return DeployKit.builder().store(PostgresFixture.freshStore().schema(schema).build()).transport(LocalTransport.create())
                .artifactDir(dir.resolve("artifacts")).build();
    }

    private Path root(String id) {
        return dir.resolve("nodes").resolve(id);
    }

    private void publish(DeployKit kit, String version, String downgradeExtra) throws IOException {
        String record = "echo \"$DEPLOYKIT_PHASE $DEPLOYKIT_VERSION\" >> \"$DEPLOYKIT_ROOT/history\"";
        Path file = ScriptBundle.builder("app", version).script("install", record).script("upgrade", record)
                .script("downgrade", record + downgradeExtra).script("remove", record)
                .script("health", "test ! -e \"$DEPLOYKIT_ROOT/unhealthy\"").writeTo(dir.resolve("app-" + version + ".tar.gz"));
        kit.packages().publish(file);
    }

    private List<String> history(String id) throws IOException {
        return Files.readAllLines(root(id).resolve("history"));
    }

    private String installed(String id) throws IOException {
        return Files.readSymbolicLink(root(id).resolve("var/lib/deploykit/bundles/app/current")).toString();
    }

    @Test
    void aRollbackInterruptedByAControllerStopIsResumedAndEachNodeEndsOnItsPreviousVersion() throws Exception {
        String schema = PostgresFixture.newSchema();
        String deploymentId;
        try (DeployKit first = kit(schema)) {
            for (String id : List.of("n1", "n2", "n3", "n4")) {
                first.servers().register(Server.of(id, Binding.local(Files.createDirectories(root(id))), Map.of()));
            }
            publish(first, "1.0", "; sleep 6");
            publish(first, "2.0", "");
            Deployment base = first.start(DeployPlan.builder().action(Action.install("app", "1.0")).targetAll().build());
            assertEquals(DeploymentStatus.SUCCEEDED, base.await(Duration.ofMinutes(1)));
            Files.writeString(root("n3").resolve("unhealthy"), "");

            Deployment upgrade = first.start(DeployPlan.builder().action(Action.install("app", "2.0")).targetAll()
                    .canary(BatchSize.count(1)).batch(BatchSize.count(1)).rollbackOnFailure(true).build());
            deploymentId = upgrade.id();
            waitFor(upgrade, t -> t.step().equals("rollback:downgrade"), "a node to be in rollback:downgrade");
        } // the controller stops here, in the middle of a 6 s downgrade

        Files.delete(root("n3").resolve("unhealthy")); // n3 is fixed before the next controller starts
        try (DeployKit second = kit(schema)) {
            Deployment resumed = second.deployment(deploymentId).orElseThrow();
            assertEquals(DeploymentStatus.ROLLED_BACK, resumed.await(Duration.ofMinutes(2)), resumed.tasks().toString());
            for (String id : List.of("n1", "n2", "n3")) {
                assertEquals("1.0", installed(id), id);
                List<String> h = history(id);
                assertEquals(List.of("install 1.0", "upgrade 2.0"), h.subList(0, 2), id + ": " + h);
                assertTrue(h.subList(2, h.size()).stream().allMatch(l -> l.equals("downgrade 1.0")), id + " was never upgraded again: " + h);
            }
            assertEquals(List.of("install 1.0"), history("n4"), "n4 was never dispatched");
            Map<String, NodeStatus> statuses = new java.util.TreeMap<>();
            resumed.tasks().forEach(t -> statuses.put(t.serverId(), t.status()));
            assertEquals(Map.of("n1", NodeStatus.ROLLED_BACK, "n2", NodeStatus.ROLLED_BACK, "n3", NodeStatus.ROLLED_BACK,
                    "n4", NodeStatus.CANCELLED), statuses);
        }
    }

    /** A controller on {@code schema} with an agent gateway on {@code port}, started. */
    private record AgentController(DeployKit kit, AgentGateway gateway) implements AutoCloseable {
        static AgentController start(Path dir, AgentFixtures.Pki pki, String schema, int port) throws Exception {
            for (int attempt = 0; ; attempt++) {
                AgentGateway gateway = AgentFixtures.gateway(pki).port(port).build();
                DeployKit kit = DeployKit.builder().store(PostgresFixture.freshStore().schema(schema).build())
                        .transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
                try {
                    gateway.start(kit.servers());
                    return new AgentController(kit, gateway);
                } catch (java.io.UncheckedIOException e) {
                    // the previous controller's port may take a moment to be free again
                    kit.close();
                    if (attempt > 50) {
                        throw e;
                    }
                    Thread.sleep(100);
                }
            }
        }

        @Override
        public void close() {
            kit.close();
            gateway.close();
        }
    }

    @Test
    void throughRealAgentsAResumedRollbackRunsEachInterruptedRollbackStepOnce() throws Exception {
        String schema = PostgresFixture.newSchema();
        AgentFixtures.Pki pki = AgentFixtures.pki(Files.createDirectories(dir.resolve("pki")));
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        List<AgentFixtures.AgentProcess> agents = new java.util.ArrayList<>();
        String deploymentId;
        try {
            try (AgentController first = AgentController.start(dir, pki, schema, port)) {
                for (String id : List.of("n1", "n2", "n3", "n4")) {
                    agents.add(new AgentFixtures.AgentProcess(dir.resolve("state-" + id), AgentFixtures.tlsArgs(pki,
                            AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), port, id, dir.resolve("state-" + id),
                            Files.createDirectories(root(id)))).start());
                }
                AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> first.gateway().connectedAgents().size() == 4, "four agents");
                publish(first.kit(), "1.0", "; sleep 6");
                publish(first.kit(), "2.0", "");
                Deployment base = first.kit().start(DeployPlan.builder().action(Action.install("app", "1.0")).targetAll().build());
                assertEquals(DeploymentStatus.SUCCEEDED, base.await(Duration.ofMinutes(1)), base.tasks().toString());
                Files.writeString(root("n3").resolve("unhealthy"), "");
                Deployment upgrade = first.kit().start(DeployPlan.builder().action(Action.install("app", "2.0")).targetAll()
                        .canary(BatchSize.count(1)).batch(BatchSize.count(1)).rollbackOnFailure(true).build());
                deploymentId = upgrade.id();
                waitFor(upgrade, t -> t.step().equals("rollback:downgrade"), "a node to be in rollback:downgrade");
            } // the controller stops while the agents run their 6 s downgrades
            Files.delete(root("n3").resolve("unhealthy"));
            try (AgentController second = AgentController.start(dir, pki, schema, port)) {
                Deployment resumed = second.kit().deployment(deploymentId).orElseThrow();
                assertEquals(DeploymentStatus.ROLLED_BACK, resumed.await(Duration.ofMinutes(2)), resumed.tasks().toString());
                for (String id : List.of("n1", "n2", "n3")) {
                    assertEquals("1.0", installed(id), id);
                    assertEquals(List.of("install 1.0", "upgrade 2.0", "downgrade 1.0"), history(id),
                            id + ": the interrupted rollback step ran once, answered from the agent's journal");
                }
                assertEquals(List.of("install 1.0"), history("n4"));
            }
        } finally {
            agents.forEach(AgentFixtures.AgentProcess::close);
        }
    }

    @Test
    void aServerRemovedBeforeARestartFailsItsTaskAndTheResumedDeploymentGoesOnWithinItsBudget() throws Exception {
        String schema = PostgresFixture.newSchema();
        String deploymentId;
        try (DeployKit first = kit(schema)) {
            for (String id : List.of("n1", "n2", "n3")) {
                first.servers().register(Server.of(id, Binding.local(Files.createDirectories(root(id))), Map.of()));
            }
            publish(first, "1.0", "");
            Path slowInstall = ScriptBundle.builder("slow", "1.0").script("install", "sleep 3; echo done >> \"$DEPLOYKIT_ROOT/history\"")
                    .writeTo(dir.resolve("slow-1.0.tar.gz"));
            first.packages().publish(slowInstall);
            Deployment d = first.start(DeployPlan.builder().action(Action.install("slow", "1.0")).targetAll()
                    .batch(BatchSize.count(1)).maxFailed(BatchSize.count(1)).build());
            deploymentId = d.id();
            waitFor(d, t -> t.serverId().equals("n1") && t.step().equals("install"), "n1 to install");
            assertTrue(first.servers().remove("n3", true));
        }
        try (DeployKit second = kit(schema)) {
            Deployment resumed = second.deployment(deploymentId).orElseThrow();
            assertEquals(DeploymentStatus.SUCCEEDED, resumed.await(Duration.ofMinutes(1)), resumed.tasks().toString());
            NodeTask n3 = resumed.tasks().stream().filter(t -> t.serverId().equals("n3")).findFirst().orElseThrow();
            assertEquals(NodeStatus.FAILED, n3.status());
            assertEquals("server n3 was removed while this deployment ran", n3.message());
        }
    }

    private static void waitFor(Deployment d, java.util.function.Predicate<NodeTask> condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (d.tasks().stream().noneMatch(condition)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + ": " + d.tasks());
            }
            Thread.sleep(50);
        }
    }
}
