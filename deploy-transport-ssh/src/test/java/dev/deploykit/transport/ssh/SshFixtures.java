package dev.deploykit.transport.ssh;

import dev.deploykit.Binding;
import dev.deploykit.Requirements;
import dev.deploykit.Server;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.keyprovider.FileKeyPairProvider;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.config.keys.AuthorizedKeysAuthenticator;
import org.apache.sshd.server.shell.ProcessShellFactory;

/**
 * SSH servers for tests and benchmarks, all on loopback with keys made by {@code ssh-keygen}: MINA's embedded
 * {@link SshServer} and real OpenSSH {@code sshd} processes. Each writes the {@code known_hosts} line
 * a client needs. Close what you start.
 */
public final class SshFixtures {
    private SshFixtures() {}

    /** A key pair made by ssh-keygen: the private key file and its public key line. */
    public record Key(Path file, String publicLine) {}

    public static Key keygen(Path dir, String name) throws Exception {
        Path keygen = Requirements.tool("ssh-keygen", "to make SSH host and user keys for the tests");
        Path file = dir.resolve(name);
        run(List.of(keygen.toString(), "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file.toString()));
        return new Key(file, Files.readString(dir.resolve(name + ".pub")).trim());
    }

    public static void run(List<String> argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(argv + " failed: " + out);
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The known_hosts line for a server on 127.0.0.1:{@code port} with this host key. */
    public static String knownHostsLine(int port, Key hostKey) {
        String[] parts = hostKey.publicLine().split(" ");
        return "[127.0.0.1]:" + port + " " + parts[0] + " " + parts[1];
    }

    /** A running SSH server. */
    public interface Sshd extends AutoCloseable {
        int port();

        String user();

        @Override
        void close();
    }

    /** MINA's embedded server: exec through /bin/sh -c (as OpenSSH does), SFTP, key auth from authorized_keys. */
    public static Sshd mina(Path dir, Key hostKey, Key userKey) throws Exception {
        Path authorized = dir.resolve("authorized_keys-mina");
        Files.writeString(authorized, userKey.publicLine() + "\n");
        SshServer server = SshServer.setUpDefaultServer();
        server.setHost("127.0.0.1");
        server.setPort(0);
        server.setKeyPairProvider(new FileKeyPairProvider(hostKey.file()));
        server.setPublickeyAuthenticator(new AuthorizedKeysAuthenticator(authorized));
        server.setPasswordAuthenticator(null);
        server.setKeyboardInteractiveAuthenticator(null);
        server.setCommandFactory((channel, command) -> new ProcessShellFactory(command, "/bin/sh", "-c", command).createShell(channel));
        server.start();
        return new Sshd() {
            @Override
            public int port() {
                return server.getPort();
            }

            @Override
            public String user() {
                return "deploy";
            }

            @Override
            public void close() {
                try {
                    server.stop(true);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
    }

    /** A real OpenSSH sshd on a loopback port, logging in as the current user. Needs root (privilege separation). */
    public static Sshd openssh(Path dir, Key hostKey, Key userKey) throws Exception {
        return openssh(dir, hostKey, userKey, System.getProperty("user.name"));
    }

    /** A real OpenSSH sshd on a loopback port that lets {@code login} (an existing account) in with {@code userKey}. */
    public static Sshd openssh(Path dir, Key hostKey, Key userKey, String login) throws Exception {
        Path sshd = Requirements.tool("sshd", "to test against a real OpenSSH server");
        if (!"root".equals(System.getProperty("user.name"))) {
            String message = "OpenSSH sshd tests need root (sshd privilege separation)";
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError(message);
            }
            org.junit.jupiter.api.Assumptions.abort(message);
        }
        Files.createDirectories(Path.of("/run/sshd"));
        int port = freePort();
        Path authorized = dir.resolve("authorized_keys-" + port);
        Files.writeString(authorized, userKey.publicLine() + "\n");
        Path config = dir.resolve("sshd_config-" + port);
        Files.writeString(config, String.join("\n",
                "Port " + port,
                "ListenAddress 127.0.0.1",
                "HostKey " + hostKey.file(),
                "PidFile " + dir.resolve("sshd-" + port + ".pid"),
                "AuthorizedKeysFile " + authorized,
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "MaxSessions 100",
                "MaxStartups 100:30:200",
                "Subsystem sftp internal-sftp",
                "LogLevel ERROR", ""));
        Process process = new ProcessBuilder(sshd.toString(), "-D", "-e", "-f", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("sshd-" + port + ".log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                break;
            } catch (IOException notYet) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    process.destroyForcibly();
                    throw new IllegalStateException("sshd did not start: " + Files.readString(dir.resolve("sshd-" + port + ".log")));
                }
                Thread.sleep(50);
            }
        }
        return new Sshd() {
            @Override
            public int port() {
                return port;
            }

            @Override
            public String user() {
                return login;
            }

            @Override
            public void close() {
                process.destroy();
                try {
                    process.waitFor(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                process.destroyForcibly();
            }
        };
    }

    /** A known_hosts file trusting {@code hostKey} on each of {@code ports}. */
    public static Path knownHosts(Path dir, Key hostKey, List<Integer> ports) throws IOException {
        List<String> lines = new ArrayList<>();
        ports.forEach(p -> lines.add(knownHostsLine(p, hostKey)));
        return Files.write(Files.createTempFile(dir, "known_hosts", ""), lines);
    }

    /** A transport that trusts exactly these servers' host keys and logs in with {@code userKey}. */
    public static SshTransport transport(Path dir, Key userKey, Key hostKey, List<Integer> ports) throws IOException {
        return builder(dir, userKey, hostKey, ports).build();
    }

    /** A server {@code id} reached through {@code sshd} on loopback, with install root {@code root}. */
    public static Server server(String id, Sshd sshd, Path root) {
        return Server.of(id, new Binding("ssh", Map.of("host", "127.0.0.1", "port", Integer.toString(sshd.port()),
                "user", sshd.user(), "root", root.toString())), Map.of());
    }

    public static SshTransport.Builder builder(Path dir, Key userKey, Key hostKey, List<Integer> ports) throws IOException {
        return SshTransport.builder().knownHosts(knownHosts(dir, hostKey, ports)).identity(userKey.file())
                .remoteCacheDir(dir.resolve("remote-cache").toString())
                .connectRetries(2, Duration.ofMillis(100));
    }
}
