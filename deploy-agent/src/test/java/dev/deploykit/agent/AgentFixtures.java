package dev.deploykit.agent;

import dev.deploykit.Requirements;
import dev.deploykit.transport.grpc.AgentGateway;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Real parts for agent tests: TLS material made by {@code openssl}, a gateway on a loopback port,
 * and agents as separate JVM processes started from this test's classpath.
 */
public final class AgentFixtures {
    public static final String TOKEN = "test-enrollment-token-0123456789";

    private AgentFixtures() {}

    /** A CA, a server certificate for 127.0.0.1/localhost and an agent client certificate. */
    public record Pki(Path ca, Path serverCert, Path serverKey, Path clientCert, Path clientKey) {}

    public static Pki pki(Path dir) throws Exception {
        Path openssl = Requirements.tool("openssl", "to make TLS certificates for the agent tests");
        run(dir, openssl + " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=dk-test-ca");
        for (String who : List.of("server", "agent")) {
            run(dir, openssl + " req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + who + ".key -out " + who
                    + ".csr -subj /CN=" + who);
            Files.writeString(dir.resolve(who + ".ext"), who.equals("server")
                    ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" : "extendedKeyUsage=clientAuth\n");
            run(dir, openssl + " x509 -req -in " + who + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out " + who
                    + ".crt -extfile " + who + ".ext");
        }
        return new Pki(dir.resolve("ca.crt"), dir.resolve("server.crt"), dir.resolve("server.key"), dir.resolve("agent.crt"),
                dir.resolve("agent.key"));
    }

    private static void run(Path dir, String command) throws Exception {
        Process p = new ProcessBuilder(command.split(" ")).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(command + " failed: " + out);
        }
    }

    /** A gateway with mutual TLS on a free loopback port (not started). */
    public static AgentGateway.Builder gateway(Pki pki) {
        return AgentGateway.builder().host("127.0.0.1").port(0).tls(pki.serverCert(), pki.serverKey()).clientCa(pki.ca())
                .token(TOKEN).heartbeat(Duration.ofSeconds(2)).reconnectGrace(Duration.ofSeconds(60));
    }

    /** A running agent JVM. */
    public static final class AgentProcess implements AutoCloseable {
        final Path stateDir;
        final Path log;
        final List<String> args;
        Process process;

        public AgentProcess(Path stateDir, List<String> args) {
            this.stateDir = stateDir;
            this.log = stateDir.resolve("agent.log");
            this.args = args;
        }

        public AgentProcess start() throws IOException {
            Files.createDirectories(stateDir);
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), AgentMain.class.getName()));
            cmd.addAll(args);
            process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            return this;
        }

        /** kill -9: the JVM dies at once, its child processes live on. */
        public void kill9() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }

        public String logText() throws IOException {
            return Files.exists(log) ? Files.readString(log) : "";
        }

        @Override
        public void close() {
            if (process != null) {
                process.destroy();
                try {
                    if (!process.waitFor(5, TimeUnit.SECONDS)) {
                        kill9();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    process.destroyForcibly();
                }
            }
        }
    }

    /** Agent args for a TLS connection with a client certificate. */
    public static List<String> tlsArgs(Pki pki, Path tokenFile, int port, String id, Path state, Path root) {
        return new ArrayList<>(List.of("--controller", "127.0.0.1:" + port, "--token-file", tokenFile.toString(),
                "--ca", pki.ca().toString(), "--cert", pki.clientCert().toString(), "--key", pki.clientKey().toString(),
                "--id", id, "--state-dir", state.toString(), "--root", root.toString(), "--label", "role=app"));
    }

    public static Path tokenFile(Path dir, String token) throws IOException {
        return Files.writeString(dir.resolve("token-" + Math.abs(token.hashCode())), token + "\n");
    }

    public static void waitUntil(Duration limit, BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }
}
