package dev.deploykit.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.deploykit.agent.AgentFixtures;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Servers and API clients for the server tests, and for other modules' tests through the test-jar
 * (the CLI's end-to-end tests start the same processes).
 */
public final class ServerFixtures {
    public static final String ADMIN = "admin-token-0123456789";
    public static final String DEPLOYER = "deployer-token-0123456789";
    public static final String VIEWER = "viewer-token-0123456789";
    /** A deployer confined to group web. */
    public static final String WEB_ONLY = "web-only-token-0123456789";

    private ServerFixtures() {}

    /** A tokens file with an admin (alice), a deployer (ci-bot), a viewer (dashboard) and a web-only deployer (web-team). */
    public static Path tokensFile(Path dir) throws IOException {
        return Files.writeString(dir.resolve("tokens.yaml"), "tokens:\n"
                + ApiTokens.line("alice", ApiTokens.Role.ADMIN, ADMIN) + "\n"
                + ApiTokens.line("ci-bot", ApiTokens.Role.DEPLOYER, DEPLOYER) + "\n"
                + ApiTokens.line("dashboard", ApiTokens.Role.VIEWER, VIEWER) + "\n"
                + ApiTokens.line("web-team", ApiTokens.Role.DEPLOYER, WEB_ONLY).replace("}", ", groups: [web]}") + "\n");
    }

    /** A config with TLS on both listeners (certificates from {@code pki}), free ports, and {@code store} as its store section. */
    public static String config(Path dir, AgentFixtures.Pki pki, String store, String controllerId) throws IOException {
        return "api: {host: 127.0.0.1, port: 0, tlsCert: " + pki.serverCert() + ", tlsKey: " + pki.serverKey() + "}\n"
                + "agents: {host: 127.0.0.1, port: 0, tlsCert: " + pki.serverCert() + ", tlsKey: " + pki.serverKey() + ", clientCa: "
                + pki.ca() + ", tokenFile: " + AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN) + "}\n"
                + "store: " + store + "\n"
                + "tokensFile: " + tokensFile(dir) + "\n"
                + "artifactDir: " + dir.resolve("artifacts-" + controllerId) + "\n"
                + "controllerId: " + controllerId + "\n";
    }

    /** A deploy-server JVM, started from this test's classpath as {@code java -jar deploy-server.jar} would run. */
    public static final class ServerProcess implements AutoCloseable {
        private static final Pattern PORTS = Pattern.compile("deploy-server: API on port (\\d+), agents on port (\\d+)");
        public final Path log;
        public final Process process;
        public final int apiPort;
        public final int agentPort;

        public ServerProcess(Path dir, String name, String config) throws Exception {
            this(dir, name, config, "-Xmx256m");
        }

        public ServerProcess(Path dir, String name, String config, String heap) throws Exception {
            Path file = Files.writeString(dir.resolve(name + ".yaml"), config);
            log = dir.resolve(name + ".log");
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), heap,
                    "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), DeployServerMain.class.getName(),
                    "--config", file.toString()));
            process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            Matcher[] m = new Matcher[1];
            AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> {
                m[0] = PORTS.matcher(text());
                return m[0].find() || !process.isAlive();
            }, name + " to start; its log: " + log);
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited: " + text());
            }
            apiPort = Integer.parseInt(m[0].group(1));
            agentPort = Integer.parseInt(m[0].group(2));
        }

        public String text() {
            try {
                return Files.exists(log) ? Files.readString(log) : "";
            } catch (IOException e) {
                return "";
            }
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    /** An HTTPS client of the API that trusts the test CA. */
    public record Api(HttpClient http, String base) {
        public static Api of(AgentFixtures.Pki pki, int port) throws Exception {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            try (InputStream in = Files.newInputStream(pki.ca())) {
                trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(null, tmf.getTrustManagers(), null);
            return new Api(HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(10)).build(),
                    "https://127.0.0.1:" + port + RestApi.PREFIX);
        }

        public HttpResponse<String> send(String token, String method, String path, HttpRequest.BodyPublisher body, String contentType,
                String idempotencyKey) throws Exception {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60)).method(method, body);
            if (token != null) {
                b.header("Authorization", "Bearer " + token);
            }
            if (contentType != null) {
                b.header("Content-Type", contentType);
            }
            if (idempotencyKey != null) {
                b.header("Idempotency-Key", idempotencyKey);
            }
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        }

        public HttpResponse<String> get(String token, String path) throws Exception {
            return send(token, "GET", path, HttpRequest.BodyPublishers.noBody(), null, null);
        }

        public HttpResponse<String> post(String token, String path, String json) throws Exception {
            return send(token, "POST", path, HttpRequest.BodyPublishers.ofString(json), "application/json", null);
        }

        public JsonNode json(HttpResponse<String> response) {
            return Json.read(response.body(), "response");
        }
    }
}
