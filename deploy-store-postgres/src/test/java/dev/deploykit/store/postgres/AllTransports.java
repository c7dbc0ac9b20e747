package dev.deploykit.store.postgres;

import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.Server;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.spi.SecretSource;
import dev.deploykit.transport.grpc.AgentGateway;
import dev.deploykit.transport.local.LocalTransport;
import dev.deploykit.transport.ssh.SshFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One controller with the PostgreSQL store and three nodes, one per transport: {@code local-1} (a
 * directory), {@code agent-1} (a real agent process over mutual TLS) and {@code ssh-1} (a real
 * OpenSSH {@code sshd} on loopback, as root). Each node has its own root directory. Closes all of it.
 */
final class AllTransports implements AutoCloseable {
    static final List<String> NODES = List.of("local-1", "agent-1", "ssh-1");
    final String schema = PostgresFixture.newSchema();
    final Path dir;
    final AgentGateway gateway;
    final SshFixtures.Sshd sshd;
    final DeployKit kit;
    final AgentFixtures.AgentProcess agent;

    AllTransports(Path dir, SecretSource secrets) throws Exception {
        this.dir = dir;
        AgentFixtures.Pki pki = AgentFixtures.pki(Files.createDirectories(dir.resolve("pki")));
        SshFixtures.Key hostKey = SshFixtures.keygen(dir, "host_ed25519");
        SshFixtures.Key userKey = SshFixtures.keygen(dir, "id_ed25519");
        gateway = AgentFixtures.gateway(pki).build();
        sshd = SshFixtures.openssh(dir, hostKey, userKey);
        kit = DeployKit.builder().store(PostgresFixture.freshStore().schema(schema).build()).transport(LocalTransport.create())
                .transport(gateway.transport()).transport(SshFixtures.transport(dir, userKey, hostKey, List.of(sshd.port())))
                .artifactDir(dir.resolve("artifacts")).secrets(secrets).build();
        gateway.start(kit.servers());
        agent = new AgentFixtures.AgentProcess(dir.resolve("agent-1"), AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir,
                AgentFixtures.TOKEN), gateway.port(), "agent-1", dir.resolve("agent-1"), root("agent-1"))).start();
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains("agent-1"), "the agent");
        kit.servers().register(Server.of("local-1", Binding.local(root("local-1")), Map.of()));
        kit.servers().register(SshFixtures.server("ssh-1", sshd, root("ssh-1")));
    }

    /** The node's root directory. */
    Path root(String node) {
        try {
            return Files.createDirectories(dir.resolve("root-" + node));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        agent.close();
        kit.close();
        gateway.close();
        sshd.close();
    }
}
