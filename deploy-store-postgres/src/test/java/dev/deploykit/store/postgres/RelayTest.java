package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.Command;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.transport.grpc.AgentGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two controllers in this JVM on one database; the only agent is connected to controller B, and
 * controller A runs the deployment, so every step goes through the relay.
 */
class RelayTest {
    @TempDir
    Path dir;
    private final List<AutoCloseable> closing = new ArrayList<>();
    /** Agent gateway ports of the controllers, in the order they were made. */
    private final List<Integer> ports = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private DeployKit controller(AgentFixtures.Pki pki, String schema, String id) {
        AgentGateway gateway = AgentFixtures.gateway(pki).build();
        DeployKit kit = DeployKit.builder().store(PostgresStore.builder(PostgresFixture.url()).user(PostgresFixture.user())
                .password(PostgresFixture.password()).schema(schema).controllerId(id).lease(Duration.ofSeconds(5)).build())
                .transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
        gateway.start(kit.servers());
        closing.add(gateway);
        closing.add(kit);
        ports.add(gateway.port());
        return kit;
    }

    private Path agentOn(AgentFixtures.Pki pki, int port) throws Exception {
        Path root = Files.createDirectories(dir.resolve("root"));
        AgentFixtures.AgentProcess agent = new AgentFixtures.AgentProcess(dir.resolve("n1"),
                AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), port, "n1", dir.resolve("n1"), root)).start();
        closing.add(agent);
        return root;
    }

    private static DeployPlan script(String command) {
        return DeployPlan.builder().action(Action.runScripts(ScriptSet.of("s", Script.of("step", Command.shell(command)))))
                .targetSelector("role=app").build();
    }

    @Test
    void outputAndResultComeBackAndCancellingStopsTheRemoteStep() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        String schema = PostgresFixture.newSchema();
        DeployKit a = controller(pki, schema, "controller-a");
        DeployKit b = controller(pki, schema, "controller-b");
        Path root = agentOn(pki, ports.get(1));
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> a.servers().get("n1").isPresent(), "n1 to register through B");

        Deployment ok = a.start(script("echo hello from n1; echo oops >&2"));
        assertEquals(DeploymentStatus.SUCCEEDED, ok.await(Duration.ofMinutes(1)), ok.tasks().toString());
        List<String> lines = ok.events().stream().filter(e -> e instanceof DeployEvent.NodeOutput).map(e -> ((DeployEvent.NodeOutput) e).line())
                .toList();
        assertTrue(lines.contains("hello from n1") && lines.contains("oops"), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("relayed:")), "the steps went through controller B: " + lines);

        Deployment slow = a.start(script("echo $$ > step.pid; sleep 60; touch finished"));
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> Files.exists(root.resolve("step.pid")), "the relayed step to start");
        long pid = Long.parseLong(Files.readString(root.resolve("step.pid")).trim());
        slow.cancel();
        assertEquals(DeploymentStatus.CANCELLED, slow.await(Duration.ofSeconds(30)));
        AgentFixtures.waitUntil(Duration.ofSeconds(20), () -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true),
                "the remote step's process to be killed");
        assertFalse(Files.exists(root.resolve("finished")));
    }
}
