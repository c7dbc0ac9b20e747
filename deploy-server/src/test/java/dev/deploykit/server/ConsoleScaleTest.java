package dev.deploykit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Artifact;
import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.DeployKit;
import dev.deploykit.Facts;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.LabelSelector;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.Transport;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console with a 1,000-node deployment on screen, in a real browser: the nodes are SIMULATED
 * (a transport in this JVM whose steps sleep a few milliseconds and print a line), the server, the
 * REST API, the event stream and the browser are real. Measures the time to first render and to
 * apply 1,000 node updates, and writes them to {@code docs/console/scale-report.md}; asserts that
 * the page keeps only a page of node rows in the DOM and ends showing every node done.
 */
class ConsoleScaleTest {
    static final int NODES = 1000;
    private static final String SIMULATED = "simulated nodes: one transport in the server's JVM, steps of 100-300 ms";

    @TempDir
    Path dir;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    @Test
    void aThousandNodeDeploymentStaysResponsive() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Path config = Files.writeString(dir.resolve("server.yaml"), ServerFixtures.config(dir, pki, "{memory: true}", "server"));
        DeployServer server = DeployServer.start(ServerConfig.load(config, Map.of()), List.of(new SimTransport()));
        closing.add(server);
        DeployKit kit = server.kit();
        String[][] oses = {{"kylin", "V10", "rpm"}, {"uos", "20", "deb"}, {"openeuler", "22.03", "rpm"}, {"debian", "12", "deb"}};
        for (int i = 1; i <= NODES; i++) {
            String[] os = oses[(i - 1) % oses.length];
            kit.servers().register(new Server(String.format(Locale.ROOT, "sim-%04d", i), null, List.of(), Map.of("role", "sim"),
                    new Binding("sim", Map.of()), new Facts(os[0], os[1], List.of(), "x86_64", os[2]), Map.of(), Instant.now()));
        }
        ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor();
        closing.add(heartbeats::shutdownNow);
        heartbeats.scheduleAtFixedRate(() -> {
            Map<String, Instant> seen = new HashMap<>();
            kit.servers().list().forEach(s -> seen.put(s.id(), Instant.now()));
            kit.servers().recordSeen(seen);
        }, 0, 2, TimeUnit.SECONDS);
        kit.groups().create(new ServerGroup("sim", Set.of(), LabelSelector.parse("role=sim")));
        kit.packages().publish(ScriptBundle.builder("app", "1.0").script("install", "echo installing").writeTo(dir.resolve("app-1.0.tar.gz")));

        ConsoleBrowser browser = new ConsoleBrowser("https://127.0.0.1:" + server.apiPort());
        closing.add(browser);
        browser.login(ServerFixtures.ADMIN);

        // The fleet: a thousand servers, the Chinese distributions named as such.
        browser.open("/console/fleet");
        browser.waitForText("#fleet-counts", NODES + " servers", Duration.ofSeconds(60));
        double fleetRender = ((Number) browser.js("return performance.now()")).doubleValue();
        assertEquals("Kylin V10 (rpm, x86_64)", browser.find("#servers tr[data-server=sim-0001] td.os").getText());
        assertEquals("UOS 20 (deb, x86_64)", browser.find("#servers tr[data-server=sim-0002] td.os").getText());
        assertEquals("openEuler 22.03 (rpm, x86_64)", browser.find("#servers tr[data-server=sim-0003] td.os").getText());

        ServerFixtures.Api api = ServerFixtures.Api.of(pki, server.apiPort());
        HttpResponse<String> started = api.send(ServerFixtures.DEPLOYER, "POST", "/deployments", HttpRequest.BodyPublishers.ofString(
                "name: app 1.0 on a thousand\naction:\n  install: {package: app, version: \"1.0\"}\ntarget:\n  groups: [sim]\n"
                        + "rollout:\n  canary: 10\n  batch: 25%\n"), "application/yaml", null);
        assertEquals(201, started.statusCode(), started.body());
        String id = api.json(started).get("id").asText();

        // The live page, opened while the deployment runs.
        browser.open("/console/deployments/" + id);
        browser.waitFor("#nodes tr", e -> true, Duration.ofSeconds(30));
        double firstRender = number(browser.js("return window.dkMetrics.firstRender"));
        browser.click("#nodes tr[data-server=sim-0001]");
        browser.waitForText("#status", "SUCCEEDED", Duration.ofSeconds(300));
        try {
            browser.waitForText("#counts", NODES + "/" + NODES + " done", Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            com.fasterxml.jackson.databind.JsonNode d = api.json(api.get(ServerFixtures.VIEWER, "/deployments/" + id));
            String events = api.get(ServerFixtures.VIEWER, "/deployments/" + id + "/events?limit=40").body();
            throw new AssertionError("the API says: " + d.get("nodes") + " " + d.get("tasks").get(0) + " events " + events, e);
        }
        browser.screenshot(ConsoleTest.SHOTS.resolve("deployment-1000.png"));
        assertEquals(50, browser.all("#nodes tr").size(), "one page of node rows in the DOM, not a thousand");
        assertTrue(browser.find("#pager").getText().contains("page 1 of 20 (1000)"), browser.find("#pager").getText());
        assertTrue(browser.find("#output").getText().contains("installing"), "the first node's output: " + browser.find("#output").getText());
        @SuppressWarnings("unchecked")
        Map<String, Object> live = (Map<String, Object>) browser.js("const m = window.dkMetrics; return {events: m.eventsApplied, frames: m.frames, "
                + "maxFrame: m.maxFrameMs, totalFrame: m.totalFrameMs}");

        // 1,000 node updates at once, through the page's own event path, until drawn; five rounds.
        List<Double> applies = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            String status = round % 2 == 0 ? "RUNNING" : "SUCCEEDED";
            applies.add(number(browser.asyncJs("const done = arguments[arguments.length - 1]; const events = [];"
                    + "for (let i = 1; i <= " + NODES + "; i++) events.push({type: 'NodeStatusChanged', seq: 0, serverId: 'sim-' + String(i).padStart(4, '0'),"
                    + " status: '" + status + "', step: 'health-check', message: 'round " + round + "'});"
                    + "window.dkMetrics.applyAndDraw(events).then(done);")));
        }
        assertTrue(browser.find("#nodes tr[data-server=sim-0001]").getText().contains("round 4"), browser.find("#nodes").getText());
        assertEquals(List.of(), browser.errors(m -> false), "no errors in the browser's console");

        List<Double> sorted = applies.stream().sorted().toList();
        String report = "# Console with 1,000 nodes (JDK " + Runtime.version().feature() + ")\n\n"
                + "Written by `ConsoleScaleTest` (deploy-server) on " + Instant.now() + ", headless Chromium "
                + browser.driver.getCapabilities().getBrowserVersion() + ", " + Runtime.getRuntime().availableProcessors() + " cores.\n"
                + "Nodes: " + SIMULATED + ". The server, REST API, SSE stream and browser are real; the browser shares the machine with "
                + "the server and the test.\n\n"
                + "| measure | value |\n|---|---|\n"
                + String.format(Locale.ROOT, "| fleet page, navigation to 1,000 rows drawn | %.0f ms |%n", fleetRender)
                + String.format(Locale.ROOT, "| deployment page, navigation to first render (1,000 nodes loaded, first page drawn) | %.0f ms |%n", firstRender)
                + String.format(Locale.ROOT, "| 1,000 node updates applied and drawn, median of %d (min %.1f, max %.1f) | %.1f ms |%n", applies.size(),
                        sorted.get(0), sorted.get(sorted.size() - 1), sorted.get(sorted.size() / 2))
                + "| stream: events applied (replayed from the first, then live as the deployment ran) | " + live.get("events") + " |\n"
                + "| stream: animation frames that drew them | " + live.get("frames") + " |\n"
                + String.format(Locale.ROOT, "| stream: longest frame / all frames together | %.1f ms / %.0f ms |%n", number(live.get("maxFrame")),
                        number(live.get("totalFrame")))
                + "\nThe page keeps one page of node rows (50) in the DOM; events change a model and mark rows, and each animation "
                + "frame draws only the marked rows on screen, the counts and the timeline.\n";
        Files.writeString(Files.createDirectories(ConsoleTest.SHOTS).resolve("scale-report.md"), report);
        System.out.println(report);
    }

    private static double number(Object o) {
        return ((Number) o).doubleValue();
    }

    /** SIMULATED nodes: every step sleeps 100-300 ms and prints one line; nothing runs, nothing is installed before. */
    static final class SimTransport implements Transport {
        @Override
        public String scheme() {
            return "sim";
        }

        @Override
        public NodeSession open(Server server) {
            return new NodeSession() {
                @Override
                public Facts facts() {
                    return server.facts();
                }

                @Override
                public String root() {
                    return "/";
                }

                @Override
                public String ensureArtifact(Artifact artifact, ArtifactStore source) {
                    return "/sim/artifacts/" + artifact.sha256();
                }

                @Override
                public ExecResult exec(Command command, OutputListener output) {
                    long ms = 100 + ThreadLocalRandom.current().nextLong(200);
                    try {
                        Thread.sleep(ms);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return new ExecResult(-1, false, "interrupted", Duration.ofMillis(ms));
                    }
                    if (command.argv().get(0).equals("readlink")) {
                        return new ExecResult(1, false, "", Duration.ofMillis(ms)); // what is installed: nothing yet
                    }
                    output.onLine("stdout", "installing on " + server.id() + ": " + String.join(" ", command.argv()));
                    return new ExecResult(0, false, "", Duration.ofMillis(ms));
                }

                @Override
                public void close() {}
            };
        }
    }
}
