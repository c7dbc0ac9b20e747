package dev.deploykit.transport.ssh;

import dev.deploykit.Binding;
import dev.deploykit.Server;
import dev.deploykit.spi.Transport;
import dev.deploykit.spi.TransportContract;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;

/** The transport contract against one SSH server per test class, started by the subclass. */
abstract class SshContractBase extends TransportContract {
    static Path dir;
    static SshFixtures.Key hostKey;
    static SshFixtures.Key userKey;
    static SshFixtures.Sshd server;

    /** Makes keys, then starts the server with {@code starter}; call from a {@code @BeforeAll}. */
    static void start(String name, Starter starter) throws Exception {
        dir = Files.createTempDirectory("dk-" + name + "-");
        hostKey = SshFixtures.keygen(dir, "host_ed25519");
        userKey = SshFixtures.keygen(dir, "id_ed25519");
        server = starter.start(dir, hostKey, userKey);
    }

    @FunctionalInterface
    interface Starter {
        SshFixtures.Sshd start(Path dir, SshFixtures.Key hostKey, SshFixtures.Key userKey) throws Exception;
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    @Override
    protected Transport transport() throws Exception {
        return SshFixtures.transport(tmp, userKey, hostKey, List.of(server.port()));
    }

    @Override
    protected Server server() {
        return Server.of("ssh-node", Binding.ssh("127.0.0.1", server.port(), server.user()), Map.of());
    }
}
