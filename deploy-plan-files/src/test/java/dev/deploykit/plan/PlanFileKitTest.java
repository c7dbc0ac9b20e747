package dev.deploykit.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.LabelSelector;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.transport.local.LocalTransport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What only a DeployKit can find wrong with a plan file (an unknown group or server, a package
 * version that is not published) is reported at the line of that field, and nothing is stored or
 * started; a good file runs.
 */
class PlanFileKitTest {
    @TempDir
    Path tmp;
    DeployKit kit;

    @BeforeEach
    void kit() throws IOException {
        kit = DeployKit.builder().transport(LocalTransport.create()).artifactDir(tmp.resolve("artifacts")).build();
        for (String id : List.of("web-1", "web-2")) {
            kit.servers().register(Server.of(id, Binding.local(tmp.resolve("nodes").resolve(id)), Map.of("role", "web")));
        }
        kit.groups().create(new ServerGroup("web", Set.of(), LabelSelector.parse("role=web")));
        kit.packages().publish(ScriptBundle.builder("web-app", "2.3.1").script("install", "true").writeTo(tmp.resolve("web-app.tar.gz")));
    }

    @AfterEach
    void close() {
        kit.close();
    }

    private Path file(String yaml) throws IOException {
        return Files.writeString(tmp.resolve("plan.yaml"), yaml);
    }

    @Test
    void unknownGroupPointsAtItsElement() throws IOException {
        Path plan = file("""
                name: web
                action:
                  install: {package: web-app, version: 2.3.1}
                target:
                  groups:
                    - web
                    - wbe
                """);
        PlanFile file = PlanFiles.load(plan);
        PlanFileException e = assertThrows(PlanFileException.class, () -> file.start(kit));
        assertEquals(plan + ":7:7 target.groups[1]: unknown group 'wbe'", e.getMessage());
        assertEquals("target.groups[1]", e.field());
        assertEquals(List.of(), kit.deployments());
        assertEquals(e.getMessage(), assertThrows(PlanFileException.class, () -> file.preview(kit)).getMessage());
    }

    @Test
    void unpublishedPackagePointsAtTheAction() throws IOException {
        Path plan = file("""
                action:
                  install: {package: web-app, version: 9.9.9}
                target: {all: true}
                """);
        PlanFileException e = assertThrows(PlanFileException.class, () -> PlanFiles.load(plan).start(kit));
        assertEquals(plan + ":2:3 action: package web-app 9.9.9 is not published", e.getMessage());
        assertEquals(List.of(), kit.deployments());
    }

    @Test
    void unknownAndExcludedServersPointAtTheirElements() throws IOException {
        PlanFile servers = PlanFiles.load("action: {remove: {package: web-app}}\ntarget: {servers: [web-1, web-9]}\n", "p.yaml");
        assertEquals("p.yaml:2:27 target.servers[1]: unknown server 'web-9'",
                assertThrows(PlanFileException.class, () -> servers.preview(kit)).getMessage());
        PlanFile exclude = PlanFiles.load("action: {remove: {package: web-app}}\ntarget: {all: true, exclude: [web-0]}\n", "p.yaml");
        assertEquals("p.yaml:2:31 target.exclude[0]: unknown server 'web-0'",
                assertThrows(PlanFileException.class, () -> exclude.preview(kit)).getMessage());
        assertEquals(List.of(), kit.deployments());
    }

    @Test
    void aGoodFileRuns() throws Exception {
        Path plan = file("""
                name: web 2.3.1
                action:
                  install: {package: web-app, version: 2.3.1}
                target:
                  groups: [web]
                rollout:
                  canary: 1
                """);
        Deployment d = PlanFiles.load(plan).start(kit);
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)));
        assertEquals("web 2.3.1", d.plan().name());
        assertTrue(Files.exists(tmp.resolve("nodes/web-2/var/lib/deploykit/bundles/web-app/current")));
    }
}
