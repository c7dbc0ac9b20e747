package dev.deploykit.agent;

import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.Server;
import dev.deploykit.spi.Transport;
import dev.deploykit.spi.TransportContract;
import dev.deploykit.transport.grpc.AgentGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The transport contract against a real agent JVM over mutual TLS on loopback. */
class AgentTransportContractTest extends TransportContract {
    static Path dir;
    static AgentGateway gateway;
    static DeployKit kit;
    static AgentFixtures.AgentProcess agent;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("dk-agent-contract-");
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        gateway = AgentFixtures.gateway(pki).build();
        kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
        gateway.start(kit.servers());
        agent = new AgentFixtures.AgentProcess(dir.resolve("agent-1"), AgentFixtures.tlsArgs(pki,
                AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), gateway.port(), "agent-1", dir.resolve("agent-1"), Path.of("/"))).start();
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains("agent-1"), "agent-1 to connect");
    }

    @AfterAll
    static void stop() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (kit != null) {
            kit.close();
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    @Override
    protected Transport transport() {
        return gateway.transport();
    }

    @Override
    protected Server server() {
        return Server.of("agent-1", Binding.agent("agent-1"), Map.of());
    }
}
