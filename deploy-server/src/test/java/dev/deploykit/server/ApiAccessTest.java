package dev.deploykit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.deploykit.agent.AgentFixtures;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may do what, and what a refused or bad request gets back: every route, as the route table has
 * it, against a server in this JVM (in-memory store, TLS on).
 */
class ApiAccessTest {
    @TempDir
    Path dir;
    DeployServer server;
    ServerFixtures.Api api;

    @BeforeEach
    void start() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Path config = Files.writeString(dir.resolve("server.yaml"), ServerFixtures.config(dir, pki, "{memory: true}", "solo")
                .replace("api: {", "api: {maxUploadBytes: 100000, "));
        server = DeployServer.start(ServerConfig.load(config, Map.of()));
        api = ServerFixtures.Api.of(pki, server.apiPort());
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private static String path(RestApi.Route r) {
        return r.path().replaceAll("\\{[a-z]+}", "x");
    }

    private HttpResponse<String> call(String token, RestApi.Route r) throws Exception {
        return api.send(token, r.method().name(), path(r), HttpRequest.BodyPublishers.ofString("{}"), "application/json", null);
    }

    @Test
    void aViewerGets403OnEveryWriteAndNoTokenGets401Everywhere() throws Exception {
        var routes = new RestApi(server.kit(), new MemoryApiRecords(), 1, java.time.Clock.systemUTC()).routes();
        int writes = 0;
        for (RestApi.Route r : routes) {
            HttpResponse<String> anonymous = call(null, r);
            assertEquals(401, anonymous.statusCode(), r.method() + " " + r.path() + ": " + anonymous.body());
            assertEquals(ApiProblem.TYPE, anonymous.headers().firstValue("Content-Type").orElse(""));
            assertEquals(401, call("not-a-token", r).statusCode(), r.path());
            if (r.action() != null) {
                writes++;
                HttpResponse<String> viewer = call(ServerFixtures.VIEWER, r);
                assertEquals(403, viewer.statusCode(), r.method() + " " + r.path() + ": " + viewer.body());
                assertTrue(viewer.body().contains("token dashboard (viewer) may not " + r.action()), viewer.body());
            }
        }
        assertTrue(writes >= 15, "every write route was tried: " + writes);
        assertEquals(403, api.get(ServerFixtures.DEPLOYER, "/audit").statusCode(), "the audit is for admins");
        assertEquals(0, api.json(api.get(ServerFixtures.ADMIN, "/audit")).size(), "refused calls changed nothing, and are not actions");
        assertEquals(0, api.json(api.get(ServerFixtures.VIEWER, "/deployments")).size());
    }

    @Test
    void aBadPlanIsAProblemNamingLineColumnAndFieldAndNothingStarts() throws Exception {
        String yaml = "name: broken\naction:\n  install: {package: app, version: \"1.0\"}\ntarget:\n  groups: [web]\nrollout:\n  batch: 150%\n";
        HttpResponse<String> r = api.send(ServerFixtures.DEPLOYER, "POST", "/deployments", HttpRequest.BodyPublishers.ofString(yaml),
                "application/yaml", null);
        assertEquals(422, r.statusCode(), r.body());
        assertEquals(ApiProblem.TYPE, r.headers().firstValue("Content-Type").orElse(""));
        JsonNode problem = api.json(r);
        assertEquals("rollout.batch", problem.get("field").asText(), r.body());
        assertEquals(7, problem.get("line").asInt(), r.body());
        assertTrue(problem.get("detail").asText().startsWith("plan.yaml:7:"), r.body());
        assertEquals(0, api.json(api.get(ServerFixtures.VIEWER, "/deployments")).size(), "nothing started");

        HttpResponse<String> noGroup = api.send(ServerFixtures.DEPLOYER, "POST", "/deployments",
                HttpRequest.BodyPublishers.ofString(yaml.replace("batch: 150%", "batch: 50%")), "application/yaml", null);
        assertEquals(422, noGroup.statusCode(), noGroup.body());
        assertEquals("plan.yaml:5:12 target.groups[0]: unknown group 'web'", api.json(noGroup).get("detail").asText(), noGroup.body());

        HttpResponse<String> unknown = api.post(ServerFixtures.DEPLOYER, "/deployments/d-nope/cancel", "");
        assertEquals(404, unknown.statusCode());
        assertTrue(api.json(unknown).get("detail").asText().contains("d-nope"), unknown.body());
    }

    @Test
    void anUploadOverTheLimitIs413AndLeavesNothingBehind() throws Exception {
        HttpResponse<String> r = api.send(ServerFixtures.DEPLOYER, "POST", "/packages?filename=big_1.0_all.deb",
                HttpRequest.BodyPublishers.ofByteArray(new byte[200_000]), "application/octet-stream", null);
        assertEquals(413, r.statusCode(), r.body());
        assertTrue(api.json(r).get("detail").asText().contains("over the limit of 100000 bytes"), r.body());
        try (var left = Files.walk(dir.resolve("artifacts-solo"))) {
            assertEquals(List.of(), left.filter(Files::isRegularFile).toList(), "no staged or stored bytes");
        }
        assertEquals("{}", api.get(ServerFixtures.VIEWER, "/packages").body());
    }

    @Test
    void aTokenConfinedToAGroupCannotDeployElsewhere() throws Exception {
        String yaml = "name: db\naction:\n  install: {package: app, version: \"1.0\"}\ntarget:\n  groups: [db]\n";
        HttpResponse<String> r = api.send(ServerFixtures.WEB_ONLY, "POST", "/deployments", HttpRequest.BodyPublishers.ofString(yaml),
                "application/yaml", null);
        assertEquals(403, r.statusCode(), r.body());
        assertTrue(api.json(r).get("detail").asText().contains("may not deploy to group db: it is confined to [web]"), r.body());
        HttpResponse<String> all = api.send(ServerFixtures.WEB_ONLY, "POST", "/deployments",
                HttpRequest.BodyPublishers.ofString(yaml.replace("groups: [db]", "all: true")), "application/yaml", null);
        assertEquals(403, all.statusCode(), all.body());
        JsonNode audit = api.json(api.get(ServerFixtures.ADMIN, "/audit"));
        assertEquals("web-team deployment.start 403", audit.get(0).get("actor").asText() + " " + audit.get(0).get("action").asText() + " "
                + audit.get(0).get("status").asInt(), "a refused action by a deployer is in the audit: " + audit);
    }

    @Test
    void theOpenApiDocumentListsEveryRouteAndIsServedWithoutAToken() throws Exception {
        HttpResponse<String> health = api.http().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(api.base()
                .replace(RestApi.PREFIX, "/health"))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals("{\"status\":\"up\"}", health.body());
        HttpResponse<String> served = api.get(null, "/openapi.yaml");
        assertEquals(200, served.statusCode());
        JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(served.body());
        Set<String> documented = new TreeSet<>();
        doc.get("paths").fields().forEachRemaining(p -> p.getValue().fieldNames().forEachRemaining(m -> documented.add(m.toUpperCase() + " "
                + p.getKey())));
        Set<String> routed = new TreeSet<>();
        new RestApi(server.kit(), new MemoryApiRecords(), 1, java.time.Clock.systemUTC()).routes()
                .forEach(r -> routed.add(r.method().name() + " " + r.path()));
        routed.add("GET /deployments/{id}/events/stream");
        assertEquals(routed, documented);
    }

    @Test
    void theConfigIsStrictAboutKeysAndEnvironmentVariables() throws Exception {
        Path file = Files.writeString(dir.resolve("bad.yaml"), "api: {port: 1, insecurePlaintext: true, colour: blue}\n");
        ServerConfig.ConfigException unknown = assertThrows(ServerConfig.ConfigException.class, () -> ServerConfig.load(file, Map.of()));
        assertTrue(unknown.getMessage().contains("unknown key 'api.colour'"), unknown.getMessage());

        Path good = Files.writeString(dir.resolve("good.yaml"), "api: {insecurePlaintext: true}\nagents: {insecurePlaintext: true, "
                + "tokenFile: /t}\nstore: {memory: true}\ntokensFile: /tokens.yaml\nartifactDir: /a\n");
        ServerConfig.ConfigException env = assertThrows(ServerConfig.ConfigException.class,
                () -> ServerConfig.load(good, Map.of("DEPLOYKIT_SERVER_API_PROT", "9")));
        assertTrue(env.getMessage().startsWith("unknown environment variable DEPLOYKIT_SERVER_API_PROT"), env.getMessage());
        assertEquals(9443, ServerConfig.load(good, Map.of("DEPLOYKIT_SERVER_API_PORT", "9443")).api().port());

        ServerConfig.ConfigException noStore = assertThrows(ServerConfig.ConfigException.class,
                () -> ServerConfig.load(Files.writeString(dir.resolve("nostore.yaml"), Files.readString(good).replace("store: {memory: true}\n", "")),
                        Map.of()));
        assertTrue(noStore.getMessage().contains("store.postgres (production) and store.memory: true"), noStore.getMessage());
    }
}
