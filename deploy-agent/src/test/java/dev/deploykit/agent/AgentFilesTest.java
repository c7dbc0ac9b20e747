package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.deploykit.Action;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.Package;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.transport.grpc.AgentGateway;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent's state is private to it; what a step installs is not. */
class AgentFilesTest {
    @TempDir
    Path dir;
    /** Closed last first. */
    private final Deque<AutoCloseable> opened = new ArrayDeque<>();

    @AfterEach
    void tearDown() throws Exception {
        while (!opened.isEmpty()) {
            opened.pop().close();
        }
    }

    private <T extends AutoCloseable> T opened(T resource) {
        opened.push(resource);
        return resource;
    }

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }

    @Test
    void stateDirAndJournalArePrivateAndStepsKeepTheUsualUmask() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        AgentGateway gateway = opened(AgentFixtures.gateway(pki).build());
        DeployKit kit = opened(DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build());
        gateway.start(kit.servers());
        Path state = dir.resolve("state");
        Path root = Files.createDirectories(dir.resolve("root"));
        opened(new AgentFixtures.AgentProcess(state,
                AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), gateway.port(), "p1", state, root)).start());
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains("p1"), "p1");

        Package pkg = kit.packages().publish(ScriptBundle.builder("private-app", "1.0")
                .script("install", "echo secret-output; mkdir -p \"$DEPLOYKIT_ROOT/etc\"; echo ok > \"$DEPLOYKIT_ROOT/etc/private-app\"")
                .writeTo(dir.resolve("private-app.tar.gz")));
        Deployment d = kit.start(DeployPlan.builder().action(Action.install(pkg.name(), pkg.version())).targetServers("p1").build());
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(2)), d.tasks().toString());

        assertEquals("rwx------", mode(state));
        for (String sub : List.of("journal", "artifacts", "artifacts/sha256", "fences")) {
            assertEquals("rwx------", mode(state.resolve(sub)), sub);
        }
        List<Path> tasks;
        try (Stream<Path> all = Files.list(state.resolve("journal"))) {
            tasks = all.toList();
        }
        assertFalse(tasks.isEmpty(), "the journal has the deployment's steps");
        for (Path task : tasks) {
            assertEquals("rwx------", mode(task), task.toString());
            for (String file : List.of("out", "err", "exit", "pid")) {
                assertEquals("rw-------", mode(task.resolve(file)), task.resolve(file).toString());
            }
        }
        assertEquals("rw-------", mode(state.resolve("artifacts/sha256").resolve(pkg.artifact().sha256())));
        assertEquals("rwxr-xr-x", mode(root.resolve("etc")), "a step's own dirs get umask 022");
        assertEquals("rw-r--r--", mode(root.resolve("etc/private-app")), "a step's own files get umask 022");
    }
}
