package dev.deploykit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.agent.FaultProxy;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.server.ServerFixtures;
import dev.deploykit.store.postgres.PostgresFixture;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI against real deploy-server processes: two servers on one PostgreSQL schema, three real
 * agents connected to server A, group {@code web} of them. The CLI publishes bundles, previews and
 * applies plan files and watches them over TLS with the test CA; a second CLI cancels through
 * server B a deployment that server A runs, while a watcher (a real {@code deploykit} process) sees
 * it end.
 */
class CliServerTest {
    @TempDir
    static Path dir;
    private static final List<AutoCloseable> closing = new ArrayList<>();
    private static AgentFixtures.Pki pki;
    private static ServerFixtures.ServerProcess a;
    private static ServerFixtures.ServerProcess b;
    private static ServerFixtures.Api apiB;

    @BeforeAll
    static void startServersAndAgents() throws Exception {
        pki = AgentFixtures.pki(dir);
        String store = "{postgres: {url: \"" + PostgresFixture.url() + "\", user: " + PostgresFixture.user() + ", schema: "
                + PostgresFixture.newSchema() + "}}";
        a = closing(new ServerFixtures.ServerProcess(dir, "server-a", ServerFixtures.config(dir, pki, store, "server-a")));
        b = closing(new ServerFixtures.ServerProcess(dir, "server-b", ServerFixtures.config(dir, pki, store, "server-b")));
        for (String id : List.of("web-1", "web-2", "web-3")) {
            List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), a.agentPort, id, dir.resolve(id),
                    Files.createDirectories(dir.resolve("root-" + id)));
            args.set(args.indexOf("role=app"), "role=web");
            closing(new AgentFixtures.AgentProcess(dir.resolve(id), args).start());
        }
        apiB = ServerFixtures.Api.of(pki, b.apiPort);
        AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> servers(apiB) == 3, "three agents, seen from server B too");
        assertEquals(201, apiB.post(ServerFixtures.ADMIN, "/groups", "{\"name\": \"web\", \"selector\": \"role=web\"}").statusCode());
    }

    @AfterAll
    static void stop() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private static <T extends AutoCloseable> T closing(T c) {
        closing.add(c);
        return c;
    }

    private static int servers(ServerFixtures.Api api) {
        try {
            return api.json(api.get(ServerFixtures.VIEWER, "/servers")).size();
        } catch (Exception e) {
            return -1;
        }
    }

    /** The global options for {@code port} with {@code token}. */
    private List<String> server(int port, String token) throws Exception {
        return List.of("--server", "https://127.0.0.1:" + port, "--token-file", AgentFixtures.tokenFile(dir, token).toString(),
                "--ca", pki.ca().toString());
    }

    private static CliRun cli(List<String> server, String... args) {
        return CliRun.of(Map.of(), CliRun.args(server, args));
    }

    /** Each test deploys a package of its own, so that none sees another's installs. */
    private Path bundle(String name, String version, String install) throws Exception {
        return ScriptBundle.builder(name, version).script("install", install).writeTo(dir.resolve(name + "-" + version + ".tar.gz"));
    }

    private Path plan(String name, String version, String rollout) throws Exception {
        return Files.writeString(dir.resolve(name + "-" + version + ".yaml"), "name: " + name + " " + version + "\n"
                + "action:\n  install: {package: " + name + ", version: \"" + version + "\"}\n"
                + "target:\n  groups: [web]\n"
                + "rollout: " + rollout + "\n");
    }

    @Test
    void publishesPreviewsAppliesAndWatchesAPlanToTheEnd() throws Exception {
        List<String> deployer = server(a.apiPort, ServerFixtures.DEPLOYER);
        CliRun published = cli(deployer, "package", "publish", bundle("app", "1.0", "echo installing $DEPLOYKIT_VERSION").toString());
        assertEquals(0, published.exit(), published.toString());
        assertTrue(published.out().startsWith("published app 1.0 (script, "), published.toString());

        Path plan = plan("app", "1.0", "{canary: 1, batch: 50%}");
        CliRun preview = cli(deployer, "plan", "preview", plan.toString());
        assertEquals(0, preview.exit(), preview.toString());
        assertEquals(List.of("SERVER  BATCH       CURRENT  TARGET  NOTE", "web-1   0 (canary)  -        1.0", "web-2   1           -        1.0",
                "web-3   1           -        1.0"), preview.out().lines().toList());

        CliRun applied = cli(deployer, "plan", "apply", plan.toString());
        assertEquals(0, applied.exit(), applied.toString());
        List<String> lines = applied.out().lines().toList();
        String id = lines.get(0).replaceFirst("^deployment (\\S+) started: app 1.0$", "$1");
        assertTrue(lines.contains("batch 0 (canary) started: web-1"), applied.toString());
        assertTrue(lines.contains("batch 1 started: web-2, web-3"), applied.toString());
        assertTrue(lines.stream().anyMatch(Pattern.compile("batch 1 finished: 2 succeeded, 0 failed, 0 skipped; the controller sent \\d+ bytes of artifacts to 2 nodes")
                .asMatchPredicate()), "with what the controller sent: " + applied);
        for (String node : List.of("web-1", "web-2", "web-3")) {
            assertTrue(lines.stream().anyMatch(Pattern.compile("  " + node + " +RUNNING +ensure-artifact  artifact of \\d+ bytes").asMatchPredicate()),
                    "the artifact's size while it moves: " + applied);
            assertTrue(lines.contains(String.format("  %-8s | installing 1.0", node)), "node output, indented: " + applied);
            assertTrue(lines.stream().anyMatch(Pattern.compile("  " + node + " +SUCCEEDED .*").asMatchPredicate()), applied.toString());
        }
        assertEquals("deployment " + id + " SUCCEEDED", lines.get(lines.size() - 1));

        // Another server process on the database shows the same deployment, as JSON for a script.
        List<String> viewerB = server(b.apiPort, ServerFixtures.VIEWER);
        CliRun shown = cli(viewerB, "deployments", "show", id, "--output", "json");
        assertEquals(0, shown.exit(), shown.toString());
        JsonNode deployment = Json.read(shown.out(), "show");
        assertEquals("SUCCEEDED", deployment.get("status").asText());
        assertEquals(3, deployment.get("tasks").size());
        CliRun list = cli(viewerB, "deployments", "list");
        assertTrue(list.out().lines().anyMatch(l -> l.matches(Pattern.quote(id) + " +SUCCEEDED +app 1.0 +SUCCEEDED=3")), list.toString());
        CliRun servers = cli(viewerB, "servers", "list");
        assertTrue(servers.out().lines().anyMatch(l -> l.matches("web-2 +ONLINE +role=web +.*app=1.0.*")), servers.toString());
        CliRun packages = cli(viewerB, "packages", "show", "app");
        assertTrue(packages.out().lines().anyMatch(l -> l.startsWith("1.0      script")), packages.toString());
    }

    @Test
    void aSecondCliCancelsThroughAnotherServerWhileAWatcherProcessSeesItEndCancelled() throws Exception {
        List<String> deployer = server(a.apiPort, ServerFixtures.DEPLOYER);
        assertEquals(0, cli(deployer, "package", "publish", bundle("slow", "2.0", "sleep 30").toString()).exit());
        CliRun started = cli(deployer, "plan", "apply", plan("slow", "2.0", "{batch: 100%}").toString(), "--detach", "--output", "json");
        assertEquals(0, started.exit(), started.toString());
        String id = Json.read(started.out(), "apply").get("id").asText();

        // The watcher is the CLI as a process of its own, as a script would run it.
        Path watched = dir.resolve("watch.jsonl");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), DeployKitCli.class.getName(), "deployment", "watch", id, "--output", "json"));
        cmd.addAll(server(a.apiPort, ServerFixtures.VIEWER));
        Process watcher = new ProcessBuilder(cmd).redirectOutput(watched.toFile()).redirectError(dir.resolve("watch.err").toFile()).start();
        try {
            AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> text(watched).contains("\"status\":\"RUNNING\",\"step\":\"install\""),
                    "the watcher to see the nodes installing");
            CliRun cancelled = cli(server(b.apiPort, ServerFixtures.DEPLOYER), "deployment", "cancel", id);
            assertEquals(0, cancelled.exit(), cancelled.toString());
            assertTrue(cancelled.out().startsWith("deployment " + id + ": cancel accepted, status "), cancelled.toString());
            assertTrue(watcher.waitFor(60, TimeUnit.SECONDS), "the watcher to exit");
            assertEquals(4, watcher.exitValue(), text(dir.resolve("watch.err")));
        } finally {
            watcher.destroyForcibly();
        }
        List<String> events = text(watched).lines().toList();
        DeployEvent last = Json.event(Json.read(events.get(events.size() - 1), "event")).orElseThrow();
        assertEquals(DeploymentStatus.CANCELLED, ((DeployEvent.DeploymentStatusChanged) last).status(), events.toString());
        assertEquals(4, cli(server(b.apiPort, ServerFixtures.VIEWER), "deployment", "watch", id).exit(), "a watch of an ended deployment");
    }

    @Test
    void watchingGoesOnAcrossDroppedConnectionsWithoutLosingOrRepeatingAnEvent() throws Exception {
        List<String> deployer = server(a.apiPort, ServerFixtures.DEPLOYER);
        assertEquals(0, cli(deployer, "package", "publish", bundle("steady", "1.1", "sleep 1; echo installing $DEPLOYKIT_VERSION").toString()).exit());
        String id = Json.read(cli(deployer, "plan", "apply", plan("steady", "1.1", "{batch: 1}").toString(), "--detach", "--output", "json").out(), "apply")
                .get("id").asText();
        try (FaultProxy proxy = new FaultProxy(a.apiPort)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            String[] args = CliRun.args(server(proxy.port(), ServerFixtures.VIEWER), "deployment", "watch", id, "--output", "json")
                    .toArray(String[]::new);
            CompletableFuture<Integer> watch = CompletableFuture.supplyAsync(() -> DeployKitCli.run(args,
                    new PrintStream(out, true, StandardCharsets.UTF_8), System.err, Map.of()));
            for (int batch = 0; batch < 2; batch++) {
                String finished = "\"type\":\"BatchFinished\"";
                int seen = batch + 1;
                AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> count(out.toString(StandardCharsets.UTF_8), finished) >= seen,
                        "batch " + batch + " to finish");
                proxy.cut();
            }
            assertEquals(0, watch.get(2, TimeUnit.MINUTES));
            List<Long> seqs = out.toString(StandardCharsets.UTF_8).lines().map(l -> Json.read(l, "event").get("seq").asLong()).toList();
            List<Long> expected = new ArrayList<>();
            for (long s = 1; s <= seqs.size(); s++) {
                expected.add(s);
            }
            assertEquals(expected, seqs, "every event once, in order");
        }
    }

    @Test
    void aViewerMayNotApplyAPlanAndTheServersDetailSaysWhy() throws Exception {
        CliRun run = cli(server(a.apiPort, ServerFixtures.VIEWER), "plan", "apply", plan("app", "9.9", "{batch: 1}").toString());
        assertEquals(5, run.exit(), run.toString());
        assertEquals("deploykit: token dashboard (viewer) may not deployment.start: it needs deployer\n", run.err());
        CliRun unknown = cli(server(a.apiPort, ServerFixtures.DEPLOYER), "deployment", "watch", "no-such-deployment");
        assertEquals(2, unknown.exit(), unknown.toString());
    }

    private static int count(String text, String fragment) {
        int n = 0;
        for (int i = text.indexOf(fragment); i >= 0; i = text.indexOf(fragment, i + 1)) {
            n++;
        }
        return n;
    }

    private static String text(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
