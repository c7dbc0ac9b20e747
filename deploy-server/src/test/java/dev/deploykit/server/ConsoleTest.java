package dev.deploykit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.store.postgres.PostgresFixture;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.WebElement;

/**
 * The web console in a real browser (headless Chromium) against a real deploy-server process on
 * PostgreSQL with three real agent processes: log in, see the fleet, publish from the Packages page,
 * start a deployment from the New page after its preview, watch a node's output arrive live, pause
 * and resume, see a failed health check roll back, find it all in the audit; a viewer sees no
 * controls and its forged POST is refused. The page's console must show no errors. Screenshots go
 * to {@code docs/console/}.
 */
class ConsoleTest {
    static final Path SHOTS = Path.of(System.getProperty("user.dir")).resolveSibling("docs").resolve("console");

    @TempDir
    Path dir;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closing(T c) {
        closing.add(c);
        return c;
    }

    @Test
    void anOperatorDeploysWatchesAndSteersFromTheBrowser() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        String store = "{postgres: {url: \"" + PostgresFixture.url() + "\", user: " + PostgresFixture.user() + ", schema: "
                + PostgresFixture.newSchema() + "}}";
        ServerFixtures.ServerProcess server = closing(new ServerFixtures.ServerProcess(dir, "server", ServerFixtures.config(dir, pki, store, "server")));
        for (String id : List.of("web-1", "web-2", "web-3")) {
            List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), server.agentPort, id, dir.resolve(id),
                    Files.createDirectories(dir.resolve("root-" + id)));
            args.set(args.indexOf("role=app"), "role=web");
            closing(new AgentFixtures.AgentProcess(dir.resolve(id), args).start());
        }
        ServerFixtures.Api api = ServerFixtures.Api.of(pki, server.apiPort);
        try {
            AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> servers(api) == 3, "three agents");
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; GET /servers: " + api.get(ServerFixtures.VIEWER, "/servers").body() + "; server log: "
                    + server.text() + "; agent log: " + Files.readString(dir.resolve("web-1").resolve("agent.log")), e);
        }
        assertEquals(201, api.post(ServerFixtures.ADMIN, "/groups", "{\"name\": \"web\", \"selector\": \"role=web\"}").statusCode());
        // each node prints a line every 2 s while it installs: time to watch it, and to pause between nodes
        Path v1 = ScriptBundle.builder("app", "1.0").script("install",
                "for i in 1 2 3; do echo \"installing app $DEPLOYKIT_VERSION, part $i of 3\"; sleep 2; done").writeTo(dir.resolve("app-1.0.tar.gz"));
        Path v2 = ScriptBundle.builder("app", "2.0").script("install", "echo installing 2.0").writeTo(dir.resolve("app-2.0.tar.gz"));
        assertEquals(201, api.send(ServerFixtures.DEPLOYER, "POST", "/packages?filename=app-2.0.tar.gz", HttpRequest.BodyPublishers.ofFile(v2),
                "application/octet-stream", null).statusCode());

        String base = "https://127.0.0.1:" + server.apiPort;
        ConsoleBrowser browser = closing(new ConsoleBrowser(base));

        // Log in; the fleet shows the three agents online, with the OS they run on.
        browser.open("/console/");
        browser.find("#token");
        browser.login(ServerFixtures.ADMIN);
        browser.waitForText("#fleet-counts", "3 servers", Duration.ofSeconds(30));
        WebElement row = browser.find("#servers tr[data-server=web-2]");
        assertTrue(row.getText().contains("ONLINE") && row.getText().contains("role=web") && row.getText().contains("web"), row.getText());
        String os = browser.find("#servers tr[data-server=web-2] td.os").getText();
        assertTrue(os.contains("(deb, "), "the agents run on this Debian machine: " + os);
        browser.screenshot(SHOTS.resolve("fleet.png"));
        browser.type("#selector", "role=nothing");
        browser.click("#fleet-filter button");
        browser.waitForText("#fleet-counts", "0 servers", Duration.ofSeconds(10));

        // Publish 1.0 from the Packages page.
        browser.open("/console/packages");
        browser.find("#upload-file").sendKeys(v1.toString());
        browser.click("#upload-submit");
        browser.waitForText("#upload-message", "Published app 1.0 (script", Duration.ofSeconds(30));
        assertTrue(browser.find("#packages tr[data-package=app]").getText().contains("1.0, 2.0"), "versions in the format's order");

        // New deployment: the form writes the plan; Start is only possible after the preview.
        browser.open("/console/deployments/new");
        browser.find("#package");
        browser.js("document.querySelector('#version').value = '1.0'; document.querySelector('#version').dispatchEvent(new Event('change'));");
        browser.click("input[data-group=web]");
        browser.type("#batch", "1");
        assertTrue(browser.find("#plan").getAttribute("value").contains("groups: [\"web\"]"), browser.find("#plan").getAttribute("value"));
        assertFalse(browser.find("#start").isEnabled(), "no start before a preview");
        browser.click("#preview-button");
        browser.waitForText("#preview", "Preview: 3 servers", Duration.ofSeconds(30));
        String preview = browser.find("#preview-table").getText();
        for (String node : List.of("web-1", "web-2", "web-3")) {
            assertTrue(browser.find("#preview-table tr[data-server=" + node + "]").getText().matches("(?s)\\d \\S*" + node + " ∅ 1\\.0 changes.*"),
                    preview);
        }
        assertTrue(preview.contains("1 web-1") && preview.contains("2 web-2") && preview.contains("3 web-3"), "one node a batch: " + preview);
        browser.click("#start");

        // The deployment page: node output arrives live; pause and resume.
        browser.waitForText("#status", "RUNNING", Duration.ofSeconds(30));
        String deploymentUrl = browser.driver.getCurrentUrl();
        String id = deploymentUrl.substring(deploymentUrl.lastIndexOf('/') + 1);
        browser.click("#nodes tr[data-server=web-1]");
        browser.waitForText("#output", "installing app 1.0, part 1 of 3", Duration.ofSeconds(30));
        String before = browser.find("#output").getText();
        assertFalse(before.contains("part 3 of 3"), "the first line was on the page 4 s before the last was written: " + before);
        assertTrue(browser.find("#nodes tr[data-server=web-1]").getText().contains("RUNNING"));
        browser.screenshot(SHOTS.resolve("deployment.png"));
        browser.click("#control-pause");
        browser.waitForText("#status", "PAUSED", Duration.ofSeconds(30));
        browser.find("#control-resume");
        assertTrue(browser.all("#control-pause").isEmpty(), "a paused deployment offers resume, not pause");
        // the running node goes on while paused, its output still arriving; nothing else starts
        browser.waitForText("#output", "part 3 of 3", Duration.ofSeconds(20));
        Thread.sleep(3_000);
        assertTrue(browser.find("#nodes tr[data-server=web-2]").getText().contains("PENDING"), browser.find("#nodes").getText());
        browser.click("#control-resume");
        browser.waitForText("#status", "SUCCEEDED", Duration.ofSeconds(90));
        browser.waitForText("#counts", "3/3 done", Duration.ofSeconds(10));
        assertTrue(browser.find("#timeline").getText().contains("Batch 3"), browser.find("#timeline").getText());
        assertTrue(browser.find("#events").getText().contains("batch 3 finished: 1 ok"), browser.find("#events").getText());
        assertTrue(Pattern.compile("batch 3 finished: 1 ok, 0 failed, 0 skipped; the controller sent [1-9]\\d* bytes of artifacts to 1 node")
                .matcher(browser.find("#events").getText()).find(), "what the controller sent, from the ArtifactFetched events: "
                + browser.find("#events").getText());

        // A plan file pasted into the New page: 2.0 with a health check that fails, rolled back.
        browser.open("/console/deployments/new");
        browser.find("#package");
        WebElement plan = browser.find("#plan");
        plan.clear();
        plan.sendKeys("name: app 2.0 with a failing check\naction:\n  install: {package: app, version: \"2.0\"}\ntarget:\n  groups: [web]\n"
                + "rollout:\n  batch: 1\nfailurePolicy:\n  maxFailed: 0\n  rollbackOnFailure: true\n"
                + "healthCheck:\n  command: [\"false\"]\n  retries: 1\n  interval: 1s\n");
        browser.click("#preview-button");
        browser.waitForText("#preview", "Preview: 3 servers", Duration.ofSeconds(30));
        assertTrue(browser.find("#preview-table tr[data-server=web-1]").getText().contains("1.0 2.0 changes"),
                browser.find("#preview-table").getText());
        browser.click("#start");
        browser.waitForText("#status", "ROLLED_BACK", Duration.ofSeconds(90));
        assertTrue(browser.find("#nodes tr[data-server=web-1]").getText().contains("ROLLED_BACK"), browser.find("#nodes").getText());
        assertFalse(browser.find("#reason").getText().isBlank(), "the page says why");
        browser.click("#nodes tr[data-server=web-1]");
        browser.waitForText("#output", "installing 2.0", Duration.ofSeconds(10));
        browser.screenshot(SHOTS.resolve("rolled-back.png"));

        // The server page: its inventory and the deployments that touched it.
        browser.open("/console/servers/web-1");
        browser.waitForText("#server-deployments", "app 2.0 with a failing check", Duration.ofSeconds(30));
        assertTrue(browser.find("#inventory").getText().contains("app 1.0"), "rolled back to 1.0: " + browser.find("#inventory").getText());

        // The audit names the token behind every action, the console's included.
        browser.open("/console/audit");
        String audit = browser.waitForText("#audit", "deployment.resume", Duration.ofSeconds(30)).getText();
        for (String action : List.of("console.login", "package.publish", "deployment.start", "deployment.pause", "deployment.resume")) {
            assertTrue(audit.contains("alice " + action), action + " by alice: " + audit);
        }
        assertTrue(audit.contains("alice deployment.pause " + id), audit);
        assertEquals(List.of(), browser.errors(m -> false), "no errors in the browser's console");

        // Writes with the session cookie need its CSRF token and this server's origin.
        String csrfless = (String) browser.asyncJs("const done = arguments[0]; fetch('/api/v1/deployments/" + id + "/retry', {method: 'POST'})"
                + ".then(r => r.text().then(t => done(r.status + ' ' + t)))");
        assertTrue(csrfless.startsWith("403 ") && csrfless.contains("CSRF"), csrfless);
        String cookie = browser.driver.manage().getCookieNamed(Console.COOKIE).getValue();
        String csrf = (String) browser.asyncJs("const done = arguments[0]; fetch('/console/session').then(r => r.json()).then(s => done(s.csrf))");
        HttpResponse<String> foreign = api.http().send(HttpRequest.newBuilder(URI.create(base + "/api/v1/deployments/" + id + "/retry"))
                .header("Cookie", Console.COOKIE + "=" + cookie).header(Console.CSRF_HEADER, csrf).header("Origin", "https://evil.example")
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(403, foreign.statusCode(), foreign.body());
        assertTrue(browser.driver.manage().getCookieNamed(Console.COOKIE).isHttpOnly(), "the session cookie is HttpOnly");
        assertEquals(null, browser.js("return document.cookie.includes('" + Console.COOKIE + "') ? 'visible' : null"), "and scripts cannot read it");

        // A viewer: the same pages without controls, and its forged POST is refused.
        browser.errors(m -> true);
        browser.logout();
        browser.login(ServerFixtures.VIEWER);
        browser.open("/console/deployments/" + id);
        browser.waitForText("#status", "SUCCEEDED", Duration.ofSeconds(30));
        assertTrue(browser.all("#controls button").isEmpty(), "no control buttons for a viewer");
        assertTrue(browser.all("nav a[href='/console/deployments/new']").isEmpty(), "no New deployment for a viewer");
        String forged = (String) browser.asyncJs("const done = arguments[0]; fetch('/console/session').then(r => r.json()).then(s => "
                + "fetch('/api/v1/deployments/" + id + "/retry', {method: 'POST', headers: {'X-CSRF-Token': s.csrf}}))"
                + ".then(r => r.text().then(t => done(r.status + ' ' + t)))");
        assertTrue(forged.startsWith("403 ") && forged.contains("dashboard (viewer) may not deployment.retry"), forged);
        // Desired state: the group pinned to the version its nodes run (after the rollback, 1.0) converges with nothing to do.
        HttpResponse<String> pinned = api.send(ServerFixtures.DEPLOYER, "PUT", "/pins/web/app", HttpRequest.BodyPublishers.ofString(
                "{\"version\": \"1.0\"}"), "application/json", null);
        assertEquals(200, pinned.statusCode(), pinned.body());
        browser.open("/console/desired");
        assertTrue(browser.waitForText("#pins", "web app 1.0 ci-bot", Duration.ofSeconds(30)).isDisplayed());
        browser.waitForText("#no-failing", "Every pinned server converges", Duration.ofSeconds(30));
        assertEquals(List.of(), browser.errors(m -> m.contains("/retry") && m.contains("403")), "no other errors in the browser's console");
        assertTrue(Files.size(SHOTS.resolve("deployment.png")) > 10_000);
    }

    private static int servers(ServerFixtures.Api api) {
        try {
            return api.json(api.get(ServerFixtures.VIEWER, "/servers")).size();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void loggingInWithAnUnknownTokenSaysSoAndSetsNoCookie() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        ServerFixtures.ServerProcess server = closing(new ServerFixtures.ServerProcess(dir, "server",
                ServerFixtures.config(dir, pki, "{memory: true}", "server")));
        ConsoleBrowser browser = closing(new ConsoleBrowser("https://127.0.0.1:" + server.apiPort));
        browser.open("/console/fleet");
        browser.type("#token", "not-a-token");
        browser.click("#login-submit");
        browser.waitForText("#login-message", "that API token is not known", Duration.ofSeconds(10));
        assertEquals(null, browser.driver.manage().getCookieNamed(Console.COOKIE));
        browser.errors(m -> m.contains("/console/login") && m.contains("401"));
        ServerFixtures.Api api = ServerFixtures.Api.of(pki, server.apiPort);
        HttpResponse<String> page = api.http().send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.apiPort + "/console/deployments/x"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Security-Policy").orElse("").contains("script-src 'self'"), page.headers().map().toString());
        HttpResponse<String> asset = api.http().send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + server.apiPort
                + "/console/assets/..%2Fopenapi.yaml")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, asset.statusCode(), "only the console's own files: " + asset.body());
    }
}
