package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.Outputs;
import dev.deploykit.Package;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.transport.grpc.AgentGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deployments through real agent JVMs over mutual TLS on loopback. */
class AgentDeploymentTest {
    @TempDir
    Path dir;
    AgentFixtures.Pki pki;
    AgentGateway gateway;
    DeployKit kit;
    final List<AgentFixtures.AgentProcess> agents = new ArrayList<>();

    @AfterEach
    void tearDown() {
        agents.forEach(AgentFixtures.AgentProcess::close);
        if (kit != null) {
            kit.close();
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    private void startGateway() throws Exception {
        pki = AgentFixtures.pki(dir);
        gateway = AgentFixtures.gateway(pki).build();
        kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
        gateway.start(kit.servers());
    }

    private AgentFixtures.AgentProcess agent(String id, int port) throws Exception {
        Path state = dir.resolve(id);
        Path root = Files.createDirectories(dir.resolve("root-" + id));
        AgentFixtures.AgentProcess a = new AgentFixtures.AgentProcess(state,
                AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), port, id, state, root)).start();
        agents.add(a);
        return a;
    }

    private Path root(String id) {
        return dir.resolve("root-" + id);
    }

    @Test
    void rollsABundleOutThroughThreeAgentsWithTheirOutputInTheEvents() throws Exception {
        startGateway();
        for (String id : List.of("a1", "a2", "a3")) {
            agent(id, gateway.port());
        }
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().size() == 3, "3 agents");
        assertEquals("role=app", kit.servers().get("a1").orElseThrow().labels().entrySet().iterator().next().toString());
        assertEquals("agent", kit.servers().get("a2").orElseThrow().binding().scheme());

        Path bundle = ScriptBundle.builder("agent-app", "1.0")
                .script("install", "echo \"agent install $DEPLOYKIT_VERSION into $DEPLOYKIT_ROOT\"; mkdir -p \"$DEPLOYKIT_ROOT/etc\"; "
                        + "echo ok > \"$DEPLOYKIT_ROOT/etc/agent-app\"")
                .script("health", "test -f \"$DEPLOYKIT_ROOT/etc/agent-app\"")
                .writeTo(dir.resolve("agent-app.tar.gz"));
        kit.packages().publish(bundle);
        Deployment d = kit.start(DeployPlan.builder().action(Action.install("agent-app", "1.0")).targetSelector("role=app")
                .canary(BatchSize.count(1)).batch(BatchSize.count(2)).build());
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(2)), d.tasks().toString());
        Map<String, List<String>> output = Outputs.byServer(d, "install");
        for (String id : List.of("a1", "a2", "a3")) {
            assertEquals(List.of("agent install 1.0 into " + root(id)), output.get(id), id);
            assertTrue(Files.exists(root(id).resolve("etc/agent-app")));
            assertEquals("1.0", kit.servers().get(id).orElseThrow().inventory().get("agent-app"));
        }
    }

    @Test
    void killNineMidTaskThenRestartCompletesWithoutRunningTheStepTwice() throws Exception {
        startGateway();
        AgentFixtures.AgentProcess a = agent("k1", gateway.port());
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains("k1"), "k1");
        Path counter = dir.resolve("counter");
        Path started = dir.resolve("started");
        Command step = Command.shell("echo run >> \"$1\"; touch \"$2\"; sleep 4; echo finished", counter.toString(), started.toString());
        Deployment d = kit.start(DeployPlan.builder().action(Action.runScripts(ScriptSet.of("once", Script.of("count", step))))
                .targetServers("k1").build());
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> Files.exists(started), "the step to start");
        a.kill9();
        AgentFixtures.waitUntil(Duration.ofSeconds(10), () -> !gateway.connectedAgents().contains("k1"), "k1 to drop");
        a.start();
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(2)), d.tasks().toString());
        assertEquals(List.of("run"), Files.readAllLines(counter), "the step ran exactly once");
    }

    @Test
    void aConnectionCutHalfwayThroughA64MiBArtifactResumes() throws Exception {
        startGateway();
        long size = 64L * 1024 * 1024;
        try (CutProxy proxy = new CutProxy(gateway.port(), size / 2)) {
            agent("c1", proxy.port());
            AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains("c1"), "c1");
            byte[] payload = new byte[(int) size];
            new Random(3).nextBytes(payload);
            Package big = kit.packages().publish(ScriptBundle.builder("big", "1.0").script("install", "true")
                    .file("payload.bin", payload).writeTo(dir.resolve("big.tar.gz")));
            payload = null;
            Deployment d = kit.start(DeployPlan.builder().action(Action.install(big.name(), big.version())).targetServers("c1").build());
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(3)), d.tasks().toString());
            assertTrue(proxy.didCut(), "the link was cut mid-transfer");
            long sent = gateway.artifactBytesServed();
            assertTrue(sent < size * 3 / 2, "sent " + sent + " bytes for a " + size + "-byte artifact");
            assertTrue(sent >= big.artifact().size());
        }
    }
}
