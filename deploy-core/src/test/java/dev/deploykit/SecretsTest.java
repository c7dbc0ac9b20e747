package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.spi.SecretSource;
import dev.deploykit.store.memory.InMemoryStore;
import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Secrets reach the step and nothing else: not the plan, events, task messages or exceptions. */
class SecretsTest {
    static final String VALUE = "s3cr3t-Value-7731";

    @TempDir
    Path tmp;

    @Test
    void aSecretInArgvEnvAndHealthCheckReachesTheStepAndIsMaskedEverywhereElse() throws Exception {
        Path node = Files.createDirectories(tmp.resolve("n1"));
        InMemoryStore store = new InMemoryStore();
        try (DeployKit kit = DeployKit.builder().store(store).transport(LocalTransport.create()).artifactDir(tmp.resolve("a"))
                .secrets(SecretSource.of(Map.of("db-root", VALUE))).build()) {
            kit.servers().register(Server.of("n1", Binding.local(node), Map.of()));
            Secret db = Secret.of("db-root");
            Command writes = Command.of("/bin/sh", "-c", "printf %s \"$1\" > \"$2\"; printf %s \"$DB\" > env-got; echo \"using $1\"; "
                    + "echo \"password is $DB\" >&2", "sh", "--password=" + db, node.resolve("argv-got").toString())
                    .withEnv(Map.of("DB", db.reference())).withCwd(node.toString());
            DeployPlan plan = DeployPlan.builder().action(Action.runScripts(new ScriptSet("setup", List.of(new Script("write", writes)))))
                    .targetServers("n1")
                    .healthCheck(HealthCheck.of(Command.of("/bin/sh", "-c", "echo \"checking with $0\" >&2; exit 3", "" + db), 0, Duration.ZERO))
                    .build();
            assertFalse(plan.toString().contains(VALUE));
            Deployment d = kit.start(plan);
            assertEquals(DeploymentStatus.FAILED, d.await(Duration.ofMinutes(1)));

            assertEquals("--password=" + VALUE, Files.readString(node.resolve("argv-got")), "the step got the real value in argv");
            assertEquals(VALUE, Files.readString(node.resolve("env-got")), "and in its environment");
            String events = d.events().stream().map(Object::toString).collect(Collectors.joining("\n"));
            assertFalse(events.contains(VALUE), events);
            assertTrue(events.contains("using --password=***"), "output lines are masked, not dropped: " + events);
            assertTrue(events.contains("checking with ***"), events);
            NodeTask task = d.tasks().get(0);
            assertEquals(NodeStatus.FAILED, task.status());
            assertFalse(task.message().contains(VALUE), task.message());
            assertTrue(task.message().contains("${secret:db-root}"), "the message names the secret: " + task.message());
            assertFalse(store.deployment(d.id()).orElseThrow().plan().toString().contains(VALUE));
        }
    }

    @Test
    void anUnknownSecretFailsTheNodeNamingItAndRunsNothing() throws Exception {
        Path node = Files.createDirectories(tmp.resolve("n1"));
        try (DeployKit kit = DeployKit.builder().transport(LocalTransport.create()).artifactDir(tmp.resolve("a")).build()) {
            kit.servers().register(Server.of("n1", Binding.local(node), Map.of()));
            Command touch = Command.of("touch", node.resolve("ran").toString(), "" + Secret.of("missing"));
            Deployment d = kit.start(DeployPlan.builder().action(Action.runScripts(new ScriptSet("s", List.of(new Script("t", touch)))))
                    .targetServers("n1").build());
            assertEquals(DeploymentStatus.FAILED, d.await(Duration.ofMinutes(1)));
            assertTrue(d.tasks().get(0).message().contains("unknown secret 'missing'"), d.tasks().get(0).message());
            assertFalse(Files.exists(node.resolve("ran")));
        }
    }

    @Test
    void secretSourcesReadEnvironmentAndFilesAndRefuseToClimbOutOfTheirDirectory() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("secrets/db"));
        Files.writeString(dir.resolve("root"), VALUE + "\n");
        Files.writeString(tmp.resolve("outside"), "not a secret");
        SecretSource files = SecretSource.directory(tmp.resolve("secrets"));
        assertEquals(Optional.of(VALUE), files.lookup("db/root"));
        assertEquals(Optional.empty(), files.lookup("../outside"));
        assertEquals(Optional.empty(), SecretSource.environment().lookup("surely-not-set-" + System.nanoTime()));
        assertThrows(IllegalArgumentException.class, () -> Secret.of("has space"));
        assertEquals("${secret:db/root}", Secret.of("db/root").toString());
    }
}
