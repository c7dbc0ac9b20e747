package dev.deploykit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.format.script.ScriptBundle;
import java.net.InetSocketAddress;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Deployment events posted to a webhook: signed, retried with a doubling wait while it fails, logged. */
class WebhookTest {
    private static final String SECRET = "webhook-secret-0123456789";
    @TempDir
    Path dir;

    record Received(long atMillis, String event, String signature, String body) {}

    @Test
    void eventsArePostedSignedAndAFailingReceiverIsRetriedWithBackoff() throws Exception {
        List<Received> received = new CopyOnWriteArrayList<>();
        AtomicInteger runningCalls = new AtomicInteger();
        HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/hook", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            received.add(new Received(System.currentTimeMillis(), exchange.getRequestHeaders().getFirst("X-DeployKit-Event"),
                    exchange.getRequestHeaders().getFirst("X-DeployKit-Signature"), body));
            boolean running = body.contains("\"status\":\"RUNNING\"");
            // the receiver is down for the first two posts of the RUNNING event
            exchange.sendResponseHeaders(running && runningCalls.incrementAndGet() <= 2 ? 503 : 204, -1);
            exchange.close();
        });
        receiver.start();
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Path secret = Files.writeString(dir.resolve("hook-secret"), SECRET + "\n");
        String config = ServerFixtures.config(dir, pki, "{memory: true}", "solo")
                + "webhooks:\n  - {name: chat, url: \"http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook\", secretFile: " + secret
                + ", events: [DeploymentStatusChanged]}\n";
        try (DeployServer server = DeployServer.start(ServerConfig.load(Files.writeString(dir.resolve("server.yaml"), config), Map.of()));
                AgentFixtures.AgentProcess agent = new AgentFixtures.AgentProcess(dir.resolve("n1"), AgentFixtures.tlsArgs(pki,
                        AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), server.agentPort(), "n1", dir.resolve("n1"),
                        Files.createDirectories(dir.resolve("root")))).start()) {
            ServerFixtures.Api api = ServerFixtures.Api.of(pki, server.apiPort());
            AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> server.kit().servers().get("n1").isPresent(), "the agent");
            Path bundle = ScriptBundle.builder("app", "1.0").script("install", "true").writeTo(dir.resolve("app-1.0.tar.gz"));
            assertEquals(201, api.send(ServerFixtures.DEPLOYER, "POST", "/packages?filename=app-1.0.tar.gz",
                    HttpRequest.BodyPublishers.ofFile(bundle), "application/octet-stream", null).statusCode());
            String plan = "action:\n  install: {package: app, version: \"1.0\"}\ntarget:\n  servers: [n1]\n";
            String id = api.json(api.send(ServerFixtures.DEPLOYER, "POST", "/deployments", HttpRequest.BodyPublishers.ofString(plan),
                    "application/yaml", null)).get("id").asText();

            AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> received.stream().anyMatch(r -> r.body().contains("\"status\":\"SUCCEEDED\""))
                    && runningCalls.get() >= 3, "the end and the third try of RUNNING, " + received);
            Thread.sleep(1500); // nothing more may come
            List<String> statuses = received.stream().map(r -> Json.read(r.body(), "body").get("event").get("status").asText()).toList();
            assertEquals(3, statuses.stream().filter("RUNNING"::equals).count(), statuses.toString());
            assertEquals(1, statuses.stream().filter("SUCCEEDED"::equals).count(), "each event once when it was taken: " + statuses);
            for (Received r : received) {
                assertEquals("DeploymentStatusChanged", r.event());
                assertEquals("sha256=" + Webhooks.sign(SECRET.getBytes(StandardCharsets.UTF_8), r.body()), r.signature(), "signed body");
                assertEquals(id, Json.read(r.body(), "webhook body").get("event").get("deploymentId").asText());
            }
            List<Received> running = received.stream().filter(r -> r.body().contains("\"status\":\"RUNNING\"")).toList();
            assertEquals(running.get(0).body(), running.get(2).body(), "a retry posts the same body");
            long firstWait = running.get(1).atMillis() - running.get(0).atMillis();
            long secondWait = running.get(2).atMillis() - running.get(1).atMillis();
            assertTrue(firstWait >= 900 && secondWait >= 1900, "waits double from 1 s: " + firstWait + " ms, " + secondWait + " ms");

            JsonNode log = api.json(api.get(ServerFixtures.ADMIN, "/webhooks/deliveries"));
            assertEquals(statuses.stream().distinct().count(), log.size(), log.toString());
            List<String> attempts = new java.util.ArrayList<>();
            log.forEach(d -> attempts.add(d.get("seq").asLong() + ":" + d.get("attempts").asInt() + ":" + d.get("status").asInt() + ":"
                    + d.get("delivered").asBoolean()));
            assertTrue(attempts.stream().filter(a -> a.endsWith(":3:204:true")).count() == 1, "the RUNNING delivery took 3 attempts: " + attempts);
            assertTrue(attempts.stream().allMatch(a -> a.endsWith(":204:true")), attempts.toString());
        } finally {
            receiver.stop(0);
        }
    }
}
