package dev.deploykit.agent;

import dev.deploykit.DeployKit;
import dev.deploykit.Requirements;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.transport.grpc.AgentCa;
import dev.deploykit.transport.grpc.AgentGateway;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
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

    /**
     * A CA (made by {@code openssl}), a server certificate for 127.0.0.1/localhost, a client
     * certificate with {@code CN=agent}, and on demand one certificate per agent id, issued by
     * {@link AgentCa} as enrollment would.
     */
    public record Pki(Path ca, Path caKey, Path serverCert, Path serverKey, Path clientCert, Path clientKey) {
        /** {@code [cert, key]} of agent {@code id}'s own certificate, made once. */
        public Path[] agentCert(String id) {
            return agentCert(id, id);
        }

        /** {@code [cert, key]} of a certificate for agent {@code id}, kept under {@code name} (a second one for one id: another name). */
        public synchronized Path[] agentCert(String id, String name) {
            Path dir = ca.getParent();
            Path cert = dir.resolve("agent-" + name + ".crt");
            Path key = dir.resolve("agent-" + name + ".key");
            if (!Files.exists(cert)) {
                try {
                    KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
                    ec.initialize(new ECGenParameterSpec("secp256r1"));
                    KeyPair pair = ec.generateKeyPair();
                    Files.writeString(key, AgentCa.pem(pair.getPrivate()));
                    Files.writeString(cert, AgentCa.pem(AgentCa.load(ca, caKey).issue(id, pair.getPublic())));
                } catch (IOException | GeneralSecurityException e) {
                    throw new IllegalStateException("cannot make a certificate for agent " + id, e);
                }
            }
            return new Path[] {cert, key};
        }

        /** {@code [cert, key]} of another gateway certificate, made by {@code openssl}, with {@code subjectAltName} ("DNS:x,IP:y"). */
        public Path[] serverCert(String name, String subjectAltName) throws Exception {
            Path dir = ca.getParent();
            Path openssl = Requirements.tool("openssl", "to make TLS certificates for the agent tests");
            run(dir, openssl + " req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name + ".key -out " + name
                    + ".csr -subj /CN=" + name);
            Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=" + subjectAltName + "\nextendedKeyUsage=serverAuth\n");
            run(dir, openssl + " x509 -req -in " + name + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out " + name
                    + ".crt -extfile " + name + ".ext");
            return new Path[] {dir.resolve(name + ".crt"), dir.resolve(name + ".key")};
        }
    }

    public static Pki pki(Path dir) throws Exception {
        return pki(dir, "dk-test-ca");
    }

    /** {@link #pki(Path)} with a CA named {@code CN=caName}. */
    public static Pki pki(Path dir, String caName) throws Exception {
        Path openssl = Requirements.tool("openssl", "to make TLS certificates for the agent tests");
        run(dir, openssl + " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN="
                + caName);
        for (String who : List.of("server", "agent")) {
            run(dir, openssl + " req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + who + ".key -out " + who
                    + ".csr -subj /CN=" + who);
            Files.writeString(dir.resolve(who + ".ext"), who.equals("server")
                    ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" : "extendedKeyUsage=clientAuth\n");
            run(dir, openssl + " x509 -req -in " + who + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out " + who
                    + ".crt -extfile " + who + ".ext");
        }
        return new Pki(dir.resolve("ca.crt"), dir.resolve("ca.key"), dir.resolve("server.crt"), dir.resolve("server.key"),
                dir.resolve("agent.crt"), dir.resolve("agent.key"));
    }

    private static void run(Path dir, String command) throws Exception {
        Process p = new ProcessBuilder(command.split(" ")).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(command + " failed: " + out);
        }
    }

    /** A gateway with mutual TLS and a fleet token on a free loopback port (not started). */
    public static AgentGateway.Builder gateway(Pki pki) {
        return certificateGateway(pki).token(TOKEN);
    }

    /** A gateway with mutual TLS only: the agent's certificate is its one credential (not started). */
    public static AgentGateway.Builder certificateGateway(Pki pki) {
        return AgentGateway.builder().host("127.0.0.1").port(0).tls(pki.serverCert(), pki.serverKey()).clientCa(pki.ca())
                .heartbeat(Duration.ofSeconds(2)).reconnectGrace(Duration.ofSeconds(60));
    }

    /**
     * A started gateway with a DeployKit on its transport, for tests that talk to agents through
     * {@link NodeSession}s; closing it closes the kit, then the gateway.
     */
    public record Controller(AgentGateway gateway, DeployKit kit) implements AutoCloseable {
        public static Controller start(AgentGateway.Builder builder, Path artifactDir) {
            return start(builder, DeployKit.builder().artifactDir(artifactDir));
        }

        /** A controller whose kit is built from {@code kit} (store, liveness...) with the gateway's transport added. */
        public static Controller start(AgentGateway.Builder builder, DeployKit.Builder kitBuilder) {
            AgentGateway gateway = builder.build();
            DeployKit kit = kitBuilder.transport(gateway.transport()).build();
            gateway.start(kit.servers());
            return new Controller(gateway, kit);
        }

        public void awaitConnected(String agentId) throws InterruptedException {
            waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains(agentId), agentId + " to connect");
        }

        /** A session on the connected agent {@code agentId}. */
        public NodeSession open(String agentId) {
            return gateway.transport().open(kit.servers().get(agentId).orElseThrow());
        }

        @Override
        public void close() {
            kit.close();
            gateway.close();
        }
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

        /** Waits up to 30 s for {@code fragment} to appear in the agent's log. */
        public void awaitLog(String fragment) throws InterruptedException {
            waitUntil(Duration.ofSeconds(30), () -> {
                try {
                    return logText().contains(fragment);
                } catch (IOException e) {
                    return false;
                }
            }, "'" + fragment + "' in " + log);
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

    /**
     * Short online-status thresholds for tests: agents heartbeat every second, the gateway flushes
     * every 500 ms, STALE after 3 s, OFFLINE after 6 s, checked every 200 ms.
     */
    public static final dev.deploykit.LivenessOptions FAST_LIVENESS = new dev.deploykit.LivenessOptions(Duration.ofSeconds(3),
            Duration.ofSeconds(6), Duration.ofMillis(200));

    /** {@code builder} with a 1 s heartbeat and a 500 ms last-seen flush, to go with {@link #FAST_LIVENESS}. */
    public static AgentGateway.Builder fastHeartbeats(AgentGateway.Builder builder) {
        return builder.heartbeat(Duration.ofSeconds(1)).lastSeenFlush(Duration.ofMillis(500));
    }

    /** Agent args for a TLS connection with the agent's own client certificate. */
    public static List<String> tlsArgs(Pki pki, Path tokenFile, int port, String id, Path state, Path root) {
        Path[] own = pki.agentCert(id);
        return new ArrayList<>(List.of("--controller", "127.0.0.1:" + port, "--token-file", tokenFile.toString(),
                "--ca", pki.ca().toString(), "--cert", own[0].toString(), "--key", own[1].toString(),
                "--id", id, "--state-dir", state.toString(), "--root", root.toString(), "--label", "role=app"));
    }

    /**
     * Skips the test, with a message naming root and {@code why}, unless it runs as root; under CI
     * ({@code CI=true}) fails instead, so CI never passes by skipping.
     */
    public static void requireRoot(String why) {
        if ("root".equals(System.getProperty("user.name"))) {
            return;
        }
        String message = "this test must run as root " + why;
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError(message + " (CI=true: a missing requirement fails the run)");
        }
        org.junit.jupiter.api.Assumptions.abort(message);
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
