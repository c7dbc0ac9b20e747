package dev.deploykit.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.spi.support.Sha256;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The REST API under read load while a large deployment runs: a real deploy-server process
 * (PostgreSQL, TLS), simulated agents in a second JVM ({@link SimAgents}), and in this JVM the
 * clients: half poll {@code GET /deployments/{id}}, half hold the deployment's SSE stream. Reports
 * the GET latency percentiles, the SSE delivery lag (event time to receipt), how many events each
 * stream got, and the server process's CPU over the deployment.
 *
 * <p>Args: {@code --agents 1000 --clients 200 --report FILE}.
 */
public final class RestBenchmark {
    private static final String SIMULATED = "simulated agents, one JVM for all nodes";
    private static final String TOKEN = "bench-admin-token-0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PORTS = Pattern.compile("deploy-server: API on port (\\d+), agents on port (\\d+)");

    public static void main(String[] args) throws Exception {
        int agents = SshBenchmark.intArg(args, "--agents", 1000);
        int clients = SshBenchmark.intArg(args, "--clients", 200);
        Path reportFile = Path.of(SshBenchmark.stringArg(args, "--report", "benchmarks/reports/rest.md"));
        String url = System.getenv().getOrDefault("DEPLOYKIT_BENCH_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
        String user = System.getenv().getOrDefault("DEPLOYKIT_BENCH_PG_USER", "postgres");
        Path dir = Report.scratchDir("dk-bench-rest-");
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        String schema = "dk_bench_rest_" + UUID.randomUUID().toString().substring(0, 8);
        Report report = new Report("REST API benchmark");
        report.add("- load average at start: " + Files.readString(Path.of("/proc/loadavg")).trim());
        report.add("- " + agents + " agents (" + SIMULATED + "), " + clients + " API clients in the benchmark's JVM ("
                + clients / 2 + " polling GET /deployments/{id}, " + (clients - clients / 2) + " holding its SSE stream), "
                + "the server a JVM of its own on PostgreSQL with TLS");
        report.add("");

        Path tokens = Files.writeString(dir.resolve("tokens.yaml"), "tokens:\n  - {name: bench, role: admin, sha256: "
                + HexFormat.of().formatHex(Sha256.newDigest().digest(TOKEN.getBytes(StandardCharsets.UTF_8))) + "}\n");
        Path config = Files.writeString(dir.resolve("server.yaml"),
                "api: {host: 127.0.0.1, port: 0, tlsCert: " + pki.serverCert() + ", tlsKey: " + pki.serverKey() + "}\n"
                + "agents: {host: 127.0.0.1, port: 0, tlsCert: " + pki.serverCert() + ", tlsKey: " + pki.serverKey() + ", clientCa: "
                + pki.ca() + ", tokenFile: " + AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN) + ", maxNewAgentsPerMinute: 1000000}\n"
                + "store: {postgres: {url: \"" + url + "\", user: " + user + ", schema: " + schema + "}}\n"
                + "tokensFile: " + tokens + "\nartifactDir: " + dir.resolve("artifacts") + "\ncontrollerId: bench-server\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path serverLog = dir.resolve("server.log");
        Process server = new ProcessBuilder(java, "-Xmx1g", "-cp", System.getProperty("java.class.path"), "dev.deploykit.server.DeployServerMain",
                "--config", config.toString()).redirectErrorStream(true).redirectOutput(serverLog.toFile()).start();
        Process sims = null;
        try {
            Matcher ports = awaitPorts(server, serverLog);
            int apiPort = Integer.parseInt(ports.group(1));
            int agentPort = Integer.parseInt(ports.group(2));
            Api api = new Api(client(pki), "https://127.0.0.1:" + apiPort + "/api/v1");
            sims = new ProcessBuilder(java, "-Xmx1g", "-cp", System.getProperty("java.class.path"), SimAgents.class.getName(),
                    "--controller", "127.0.0.1:" + agentPort, "--count", Integer.toString(agents), "--prefix", "web", "--labels", "role=web",
                    "--ca", pki.ca().toString(), "--ca-key", pki.caKey().toString(), "--token", AgentFixtures.TOKEN)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("sims.log").toFile()).start();
            long connectStart = System.nanoTime();
            while (api.get("/servers").size() < agents) {
                if (!sims.isAlive() || Duration.ofNanos(System.nanoTime() - connectStart).toMinutes() > 10) {
                    throw new IllegalStateException("agents did not register; see " + dir.resolve("sims.log"));
                }
                Thread.sleep(500);
            }
            report.add("- " + agents + " agents registered in " + Report.seconds(System.nanoTime() - connectStart));
            api.send("POST", "/groups", "{\"name\": \"web\", \"selector\": \"role=web\"}", "application/json");
            Path bundle = ScriptBundle.builder("app", "1.0").script("install", "true").writeTo(dir.resolve("app-1.0.tar.gz"));
            api.http.send(HttpRequest.newBuilder(URI.create(api.base + "/packages?filename=app-1.0.tar.gz")).header("Authorization", "Bearer " + TOKEN)
                    .POST(HttpRequest.BodyPublishers.ofFile(bundle)).build(), HttpResponse.BodyHandlers.ofString());
            String plan = "name: bench\naction:\n  install: {package: app, version: \"1.0\"}\ntarget:\n  groups: [web]\n"
                    + "rollout:\n  canary: 10\n  batch: 10%\n";

            long cpuBefore = cpuNanos(server.pid());
            long t0 = System.nanoTime();
            String id = JSON.readTree(api.send("POST", "/deployments", plan, "application/yaml")).get("id").asText();
            AtomicBoolean done = new AtomicBoolean();
            List<Long> getNanos = Collections.synchronizedList(new ArrayList<>());
            List<Long> lagMillis = Collections.synchronizedList(new ArrayList<>());
            List<Integer> eventsPerStream = Collections.synchronizedList(new ArrayList<>());
            List<String> errors = Collections.synchronizedList(new ArrayList<>());
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            List<Future<?>> running = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                boolean stream = i >= clients / 2;
                running.add(pool.submit(() -> {
                    try {
                        if (stream) {
                            eventsPerStream.add(stream(api, id, lagMillis));
                        } else {
                            while (!done.get()) {
                                long s = System.nanoTime();
                                JsonNode d = JSON.readTree(api.send("GET", "/deployments/" + id, null, null));
                                getNanos.add(System.nanoTime() - s);
                                if (d.get("status").asText().matches("SUCCEEDED|FAILED|CANCELLED|ROLLED_BACK")) {
                                    done.set(true);
                                }
                            }
                        }
                    } catch (Exception e) {
                        errors.add(e.toString());
                    }
                    return null;
                }));
            }
            for (Future<?> f : running) {
                f.get();
            }
            long wall = System.nanoTime() - t0;
            long cpu = cpuNanos(server.pid()) - cpuBefore;
            pool.shutdown();
            JsonNode end = JSON.readTree(api.send("GET", "/deployments/" + id, null, null));

            report.add("");
            report.add("## A " + agents + "-node deployment watched by " + clients + " clients (" + SIMULATED + ")");
            report.add("");
            report.add("| figure | value |");
            report.add("|---|---|");
            report.add("| deployment | " + end.get("status").asText() + " in " + Report.seconds(wall) + ", batches " + end.get("batches").size()
                    + ", nodes " + end.get("nodes") + " |");
            List<Long> gets = sorted(getNanos);
            report.add(String.format("| GET /deployments/{id} (full: plan, batches, %d node tasks) | %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms |",
                    agents, gets.size(), pct(gets, 50) / 1e6, pct(gets, 99) / 1e6, gets.isEmpty() ? 0 : gets.get(gets.size() - 1) / 1e6));
            List<Long> lags = sorted(lagMillis);
            report.add(String.format("| SSE: delivery lag, event time to receipt | p50 %d ms, p99 %d ms, max %d ms over %d deliveries |",
                    pct(lags, 50), pct(lags, 99), lags.isEmpty() ? 0 : lags.get(lags.size() - 1), lags.size()));
            List<Integer> per = new ArrayList<>(eventsPerStream);
            Collections.sort(per);
            report.add("| SSE: events per stream, each from the first | min " + (per.isEmpty() ? 0 : per.get(0))
                    + ", max " + (per.isEmpty() ? 0 : per.get(per.size() - 1)) + " |");
            report.add(String.format("| server process CPU during the deployment | %.1f s (%.0f%% of one core) |", cpu / 1e9, 100.0 * cpu / wall));
            report.add("| client errors | " + errors.size() + (errors.isEmpty() ? "" : ": " + errors.get(0)) + " |");
        } finally {
            if (sims != null) {
                sims.destroyForcibly();
            }
            server.destroy();
            server.waitFor();
            try (Connection c = DriverManager.getConnection(url, user, null); Statement s = c.createStatement()) {
                s.execute("drop schema if exists " + schema + " cascade");
            }
        }
        report.write(reportFile);
        System.exit(0);
    }

    /** Reads the SSE stream to its end; returns how many events it carried, noting each one's lag. */
    private static int stream(Api api, String id, List<Long> lagMillis) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(api.base + "/deployments/" + id + "/events/stream"))
                .header("Authorization", "Bearer " + TOKEN).header("Accept", "text/event-stream").build();
        HttpResponse<InputStream> response = api.http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        int events = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("data: ") && line.contains("\"seq\"")) {
                    events++;
                    JsonNode e = JSON.readTree(line.substring(6));
                    lagMillis.add(Duration.between(Instant.parse(e.get("time").asText()), Instant.now()).toMillis());
                }
            }
        }
        return events;
    }

    private record Api(HttpClient http, String base) {
        String send(String method, String path, String body, String type) throws Exception {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + TOKEN)
                    .timeout(Duration.ofMinutes(2))
                    .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
            if (type != null) {
                b.header("Content-Type", type);
            }
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() >= 300) {
                throw new IllegalStateException(method + " " + path + ": " + r.statusCode() + " " + r.body());
            }
            return r.body();
        }

        JsonNode get(String path) throws Exception {
            return JSON.readTree(send("GET", path, null, null));
        }
    }

    private static HttpClient client(AgentFixtures.Pki pki) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(pki.ca())) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, tmf.getTrustManagers(), null);
        return HttpClient.newBuilder().sslContext(tls).version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(30)).build();
    }

    private static Matcher awaitPorts(Process server, Path log) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            Matcher m = PORTS.matcher(Files.exists(log) ? Files.readString(log) : "");
            if (m.find()) {
                return m;
            }
            if (!server.isAlive()) {
                throw new IllegalStateException("the server exited: " + Files.readString(log));
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the server did not start; see " + log);
    }

    private static long cpuNanos(long pid) {
        return ProcessHandle.of(pid).flatMap(h -> h.info().totalCpuDuration()).map(Duration::toNanos).orElse(0L);
    }

    private static <T extends Comparable<T>> List<T> sorted(List<T> values) {
        List<T> copy = new ArrayList<>(values);
        Collections.sort(copy);
        return copy;
    }

    private static long pct(List<Long> sorted, int p) {
        return sorted.isEmpty() ? 0 : sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * p / 100.0)));
    }
}
