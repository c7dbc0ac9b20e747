package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.HealthCheck;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.Requirements;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.Secret;
import dev.deploykit.spi.SecretSource;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One plan with a secret in a step's argv and env and in the health check, run to failure on a local
 * node, a real agent process and a real OpenSSH host, with the PostgreSQL store: each step gets the
 * real value, and the value is nowhere else (events, task messages, any table of the schema as
 * {@code pg_dump} shows it, the controller's log, the agent's log).
 */
class SecretsEndToEndTest {
    static final String VALUE = "Pa55-" + Long.toHexString(Double.doubleToLongBits(Math.random()));

    @TempDir
    Path dir;

    @Test
    void aSecretReachesEveryTransportsStepAndNoTableLogOrMessage() throws Exception {
        Path pgDump = Requirements.tool("pg_dump", "to read every table the store wrote");
        ByteArrayOutputStream controllerLog = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        Path got = Files.createDirectories(dir.resolve("got"));
        Files.setPosixFilePermissions(got, PosixFilePermissions.fromString("rwxrwxrwx"));
        AllTransports nodes = null;
        // the controller logs through slf4j-simple to System.err: keep a copy of everything it writes
        System.setErr(new PrintStream(new TeeStream(stderr, controllerLog), true, StandardCharsets.UTF_8));
        try (AllTransports all = new AllTransports(dir, SecretSource.of(Map.of("db-root", VALUE)))) {
            nodes = all;
            DeployKit kit = all.kit;
            String schema = all.schema;
            Secret db = Secret.of("db-root");
            Command step = Command.of("/bin/sh", "-c", "printf '%s|%s' \"$1\" \"$DB\" > \"$(mktemp -p \"$2\")\"; echo \"connecting with $1\"; "
                    + "echo \"auth failed for $DB\" >&2; exit 0", "sh", "--password=" + db, got.toString())
                    .withEnv(Map.of("DB", db.reference()));
            Command check = Command.of("/bin/sh", "-c", "echo \"health: wrong password $1\" >&2; exit 7", "sh", db.reference());
            Deployment d = kit.start(DeployPlan.builder()
                    .action(Action.runScripts(new ScriptSet("migrate", List.of(new Script("migrate", step)))))
                    .targetServers("local-1", "agent-1", "ssh-1").batch(BatchSize.percent(100)).maxFailed(BatchSize.count(3))
                    .healthCheck(HealthCheck.of(check, 1, Duration.ofMillis(100))).build());
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(2)), "three failures within a budget of three");

            try (Stream<Path> files = Files.list(got)) {
                List<String> received = files.map(p -> read(p)).toList();
                assertEquals(List.of("--password=" + VALUE + "|" + VALUE, "--password=" + VALUE + "|" + VALUE,
                        "--password=" + VALUE + "|" + VALUE), received, "each transport's step got the real value in argv and env");
            }
            for (NodeTask task : d.tasks()) {
                assertEquals(NodeStatus.FAILED, task.status(), task.toString());
                assertTrue(task.message().contains("health: wrong password ***"), task.message());
                assertFalse(task.message().contains(VALUE), task.message());
            }
            String events = d.events().stream().map(Object::toString).collect(Collectors.joining("\n"));
            assertTrue(events.contains("connecting with --password=***") && events.contains("auth failed for ***"), events);
            assertFalse(events.contains(VALUE), "events");

            Process dump = new ProcessBuilder(pgDump.toString(), "--dbname", PostgresFixture.url().replace("jdbc:", ""),
                    "--username", PostgresFixture.user(), "--schema", schema, "--no-password")
                    .redirectErrorStream(true).start();
            String tables = new String(dump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, dump.waitFor(), tables);
            assertTrue(tables.contains("${secret:db-root}") && tables.contains("COPY"), "the dump holds the plan's reference: " + tables);
            assertFalse(tables.contains(VALUE), "no table holds the value");
        } finally {
            System.setErr(stderr);
        }
        String log = controllerLog.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("health: wrong password ***"), "the controller logged the failures, masked: " + log);
        assertFalse(log.contains(VALUE), "the controller's log");
        assertFalse(nodes.agent.logText().contains(VALUE), "the agent's log");
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Writes to two streams. */
    private static final class TeeStream extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        TeeStream(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public synchronized void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public synchronized void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }
    }
}
