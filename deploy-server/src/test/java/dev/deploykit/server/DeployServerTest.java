package dev.deploykit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.store.postgres.PostgresFixture;
import dev.deploykit.transport.ssh.SshFixtures;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server end to end: two real deploy-server processes on one PostgreSQL schema, real agent
 * processes connected to the first, and a real OpenSSH host registered through the API. Over HTTPS a bundle is published, a YAML plan previewed and
 * started, its events streamed (SSE) to the end; another deployment is cancelled through the second
 * server; the audit names the token behind each action.
 */
class DeployServerTest {
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

    private static String plan(String name, String version, String batch) {
        return "name: " + name + "\n"
                + "action:\n  install: {package: app, version: \"" + version + "\"}\n"
                + "target:\n  groups: [web]\n"
                + "rollout:\n  canary: 1\n  batch: " + batch + "\n";
    }

    @Test
    void publishPreviewStartStreamAndCancelFromAnotherServerProcess() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        SshFixtures.Key hostKey = SshFixtures.keygen(dir, "host_ed25519");
        SshFixtures.Key userKey = SshFixtures.keygen(dir, "id_ed25519");
        SshFixtures.Sshd sshd = closing(SshFixtures.openssh(dir, hostKey, userKey));
        String ssh = "ssh: {knownHosts: " + SshFixtures.knownHosts(dir, hostKey, List.of(sshd.port())) + ", identity: " + userKey.file() + "}\n";
        String store = "{postgres: {url: \"" + PostgresFixture.url() + "\", user: " + PostgresFixture.user() + ", schema: "
                + PostgresFixture.newSchema() + "}}";
        ServerFixtures.ServerProcess a = closing(new ServerFixtures.ServerProcess(dir, "server-a",
                ServerFixtures.config(dir, pki, store, "server-a") + ssh));
        ServerFixtures.ServerProcess b = closing(new ServerFixtures.ServerProcess(dir, "server-b",
                ServerFixtures.config(dir, pki, store, "server-b") + ssh));
        for (String id : List.of("web-1", "web-2", "web-3")) {
            List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), a.agentPort, id, dir.resolve(id),
                    Files.createDirectories(dir.resolve("root-" + id)));
            args.set(args.indexOf("role=app"), "role=web");
            closing(new AgentFixtures.AgentProcess(dir.resolve(id), args).start());
        }
        ServerFixtures.Api apiA = ServerFixtures.Api.of(pki, a.apiPort);
        ServerFixtures.Api apiB = ServerFixtures.Api.of(pki, b.apiPort);
        AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> count(apiB, "/servers") == 3, "three agents, seen from server B too");

        // A fourth server, agentless: an OpenSSH host registered through the API.
        HttpResponse<String> registered = apiA.post(ServerFixtures.ADMIN, "/servers", "{\"id\": \"web-4\", \"ssh\": {\"host\": \"127.0.0.1\", "
                + "\"port\": " + sshd.port() + ", \"user\": \"" + sshd.user() + "\", \"root\": \"" + Files.createDirectories(dir.resolve("root-web-4"))
                + "\"}, \"labels\": {\"role\": \"web\"}}");
        assertEquals(201, registered.statusCode(), registered.body());
        assertEquals(201, apiA.post(ServerFixtures.ADMIN, "/groups", "{\"name\": \"web\", \"selector\": \"role=web\"}").statusCode());
        Path v1 = ScriptBundle.builder("app", "1.0").script("install", "echo installing $DEPLOYKIT_VERSION").writeTo(dir.resolve("app-1.0.tar.gz"));
        HttpResponse<String> published = apiA.send(ServerFixtures.DEPLOYER, "POST", "/packages?filename=app-1.0.tar.gz",
                HttpRequest.BodyPublishers.ofFile(v1), "application/octet-stream", null);
        assertEquals(201, published.statusCode(), published.body());
        assertEquals("1.0", apiA.json(published).get("version").asText());
        assertEquals("[\"1.0\"]", apiB.json(apiB.get(ServerFixtures.VIEWER, "/packages")).get("app").toString());

        String yaml = plan("app 1.0", "1.0", "50%");
        HttpResponse<String> preview = apiA.send(ServerFixtures.VIEWER, "POST", "/deployments/preview", HttpRequest.BodyPublishers.ofString(yaml),
                "application/yaml", null);
        assertEquals(200, preview.statusCode(), preview.body());
        assertEquals(4, apiA.json(preview).size(), preview.body());

        HttpResponse<String> started = apiA.send(ServerFixtures.DEPLOYER, "POST", "/deployments", HttpRequest.BodyPublishers.ofString(yaml),
                "application/yaml", "start-app-1.0");
        assertEquals(201, started.statusCode(), started.body());
        String id = apiA.json(started).get("id").asText();
        List<String> stream = sse(apiA, "/deployments/" + id + "/events/stream");
        assertTrue(stream.contains("event:end"), stream.toString());
        assertTrue(stream.stream().anyMatch(l -> l.startsWith("data:") && l.contains("\"type\":\"NodeOutput\"") && l.contains("installing 1.0")),
                "node output reaches the stream: " + stream);
        JsonNode done = apiB.json(apiB.get(ServerFixtures.VIEWER, "/deployments/" + id));
        assertEquals("SUCCEEDED", done.get("status").asText(), done.toString());
        assertEquals(4, done.get("tasks").size());
        assertEquals("[[\"web-1\"],[\"web-2\",\"web-3\"],[\"web-4\"]]", done.get("batches").toString());
        assertTrue(Files.exists(dir.resolve("root-web-4/var/lib/deploykit/bundles/app/current")), "installed over SSH too");

        // The same request again under the same key: the first answer, no second deployment.
        HttpResponse<String> again = apiA.send(ServerFixtures.DEPLOYER, "POST", "/deployments", HttpRequest.BodyPublishers.ofString(yaml),
                "application/yaml", "start-app-1.0");
        assertEquals(201, again.statusCode());
        assertEquals(id, apiA.json(again).get("id").asText());
        assertEquals("true", again.headers().firstValue("Idempotent-Replayed").orElse(""));
        assertEquals(1, count(apiA, "/deployments"));

        // A slow deployment started on A is cancelled through B, which does not own it.
        Path slow = ScriptBundle.builder("app", "2.0").script("install", "sleep 30").writeTo(dir.resolve("app-2.0.tar.gz"));
        assertEquals(201, apiA.send(ServerFixtures.DEPLOYER, "POST", "/packages?filename=app-2.0.tar.gz", HttpRequest.BodyPublishers.ofFile(slow),
                "application/octet-stream", null).statusCode());
        String slowId = apiA.json(apiA.send(ServerFixtures.DEPLOYER, "POST", "/deployments",
                HttpRequest.BodyPublishers.ofString(plan("app 2.0", "2.0", "100%")), "application/yaml", null)).get("id").asText();
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> status(apiB, slowId).equals("RUNNING"), "the slow deployment to run");
        HttpResponse<String> cancelled = apiB.post(ServerFixtures.DEPLOYER, "/deployments/" + slowId + "/cancel", "");
        assertEquals(200, cancelled.statusCode(), cancelled.body());
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> status(apiA, slowId).equals("CANCELLED"), "server A to cancel it");

        JsonNode audit = apiB.json(apiB.get(ServerFixtures.ADMIN, "/audit"));
        List<String> actions = new ArrayList<>();
        audit.forEach(e -> actions.add(e.get("actor").asText() + " " + e.get("action").asText() + " " + e.get("status").asInt()));
        assertEquals(List.of("alice server.register 201", "alice group.create 201", "ci-bot package.publish 201", "ci-bot deployment.start 201",
                "ci-bot package.publish 201", "ci-bot deployment.start 201", "ci-bot deployment.cancel 200"), actions,
                "one entry per write, the replay not counted again: " + audit);
        assertEquals(slowId, audit.get(6).get("target").asText());

        HttpResponse<String> metrics = apiA.http().send(HttpRequest.newBuilder(URI.create(apiA.base().replace(RestApi.PREFIX, "/metrics")))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(metrics.body().contains("deploykit_deployments{status=\"SUCCEEDED\"} 1.0"), metrics.body());
        assertTrue(metrics.body().contains("deploykit_agents_connected 3.0"), metrics.body());
        assertTrue(metrics.body().matches("(?s).*deploykit_step_duration_seconds_count\\{step=\"install\"} [1-9].*"), metrics.body());
        assertTrue(metrics.body().contains("deploykit_node_tasks{status=\"SUCCEEDED\"} 4.0"), metrics.body());
        assertTrue(metrics.body().matches("(?s).*deploykit_artifact_bytes_served_bytes_total [1-9].*"), metrics.body());
        assertTrue(metrics.body().contains("deploykit_http_requests_seconds_count{method=\"POST\",route=\"/api/v1/deployments\",status=\"201\"}"),
                metrics.body());
    }

    private static int count(ServerFixtures.Api api, String path) {
        try {
            return api.json(api.get(ServerFixtures.VIEWER, path)).size();
        } catch (Exception e) {
            return -1;
        }
    }

    private static String status(ServerFixtures.Api api, String id) {
        try {
            return api.json(api.get(ServerFixtures.VIEWER, "/deployments/" + id)).get("status").asText();
        } catch (Exception e) {
            return "";
        }
    }

    /** Reads the SSE stream until the server ends it, as lines. */
    private static List<String> sse(ServerFixtures.Api api, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(api.base() + path)).header("Authorization", "Bearer " + ServerFixtures.VIEWER)
                .header("Accept", "text/event-stream")
                .timeout(Duration.ofMinutes(2)).build();
        HttpResponse<java.io.InputStream> response = api.http().send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        List<String> lines = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                lines.add(line.replaceFirst("^(event|data|id): ", "$1:"));
            }
        }
        return lines;
    }
}
