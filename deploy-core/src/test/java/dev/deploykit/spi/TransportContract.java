package dev.deploykit.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.DeployException;
import dev.deploykit.Server;
import dev.deploykit.store.fs.FileArtifactStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conformance suite every {@link Transport} passes. Extend it, return the transport under test and a
 * reachable server; commands run on that node for real. The node needs {@code /bin/sh}, coreutils
 * and {@code sleep}.
 */
public abstract class TransportContract {
    @TempDir
    protected Path tmp;
    private Transport transport;
    private NodeSession session;
    private ArtifactStore artifacts;

    /** A new transport for one test; the suite closes it after the test. */
    protected abstract Transport transport() throws Exception;

    /** A server the transport reaches; a new one (or a reset one) per test. */
    protected abstract Server server() throws Exception;

    @BeforeEach
    void openSession() throws Exception {
        transport = transport();
        session = transport.open(server());
        artifacts = new FileArtifactStore(tmp.resolve("artifacts"));
    }

    @AfterEach
    void closeSession() {
        session.close();
        transport.close();
    }

    private List<String> run(Command command) {
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        ExecResult result = session.exec(command, (stream, line) -> lines.add(stream + ":" + line));
        assertTrue(result.ok(), "exit " + result.exitCode() + " " + result.stderrTail());
        return lines;
    }

    @Test
    void argumentsWithShellMetacharactersArriveLiterally() {
        String nasty = "a b; echo pwned && $(touch /tmp/dk-pwned) `id` | > < * ' \" \\ \n end";
        List<String> lines = run(Command.of("printf", "%s", nasty));
        assertEquals(List.of("stdout:a b; echo pwned && $(touch /tmp/dk-pwned) `id` | > < * ' \" \\ ", "stdout: end"), lines);
        assertFalse(Files.exists(Path.of("/tmp/dk-pwned")));
    }

    @Test
    void reportsExitCodeAndStderrTail() {
        ExecResult result = session.exec(Command.shell("echo out; echo 'it broke' >&2; exit 7"), OutputListener.IGNORE);
        assertEquals(7, result.exitCode());
        assertFalse(result.ok());
        assertTrue(result.stderrTail().contains("it broke"), result.stderrTail());
    }

    @Test
    void passesEnvironmentAndWorkingDirectory() {
        List<String> lines = run(Command.shell("echo \"$GREETING\"; pwd").withEnv(Map.of("GREETING", "hello world")).withCwd("/"));
        assertEquals(List.of("stdout:hello world", "stdout:/"), lines);
    }

    @Test
    void streamsOutputLinesInOrder() {
        List<String> lines = run(Command.shell("for i in 1 2 3 4 5; do echo line$i; done"));
        assertEquals(List.of("stdout:line1", "stdout:line2", "stdout:line3", "stdout:line4", "stdout:line5"), lines);
    }

    @Test
    void timeoutKillsTheWholeProcessTree() throws Exception {
        String pidFile = "/tmp/dk-child-" + System.nanoTime();
        ExecResult result = session.exec(Command.shell("sleep 300 & echo $! > " + pidFile + "; wait")
                .withTimeout(Duration.ofSeconds(1)), OutputListener.IGNORE);
        assertTrue(result.timedOut());
        assertFalse(result.ok());
        String pid = run(Command.of("cat", pidFile)).get(0).substring("stdout:".length());
        assertFalse(aliveWithin(pid, Duration.ofSeconds(5)), "child sleep " + pid + " survived the timeout");
        run(Command.of("rm", "-f", pidFile));
    }

    /** True when process {@code pid} on the node is still running (not gone, not a zombie) after {@code wait}. */
    private boolean aliveWithin(String pid, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        Command probe = Command.shell("[ -e /proc/$1 ] && ! grep -q '^[0-9]* ([^)]*) Z' /proc/$1/stat", pid);
        while (session.exec(probe, OutputListener.IGNORE).exitCode() == 0) {
            if (System.nanoTime() > deadline) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    @Test
    void interruptingExecKillsTheCommand() throws Exception {
        String marker = "/tmp/dk-interrupted-" + System.nanoTime();
        CompletableFuture<Thread> runner = new CompletableFuture<>();
        CompletableFuture<Object> outcome = CompletableFuture.supplyAsync(() -> {
            runner.complete(Thread.currentThread());
            try {
                return session.exec(Command.shell("echo started; sleep 30; touch " + marker), (s, l) -> {});
            } catch (DeployException e) {
                return e;
            }
        });
        Thread thread = runner.get(5, TimeUnit.SECONDS);
        Thread.sleep(500);
        thread.interrupt();
        Object result = outcome.get(10, TimeUnit.SECONDS);
        assertTrue(result instanceof DeployException || (result instanceof ExecResult r && !r.ok()), String.valueOf(result));
        ExecResult check = session.exec(Command.of("test", "-e", marker), OutputListener.IGNORE);
        assertTrue(check.exitCode() != 0, "the interrupted command ran to its end");
    }

    @Test
    void ensureArtifactPlacesVerifiedCopyOnceAndRepairsCorruption() throws Exception {
        byte[] data = new byte[3 * 1024 * 1024 + 17];
        new Random(42).nextBytes(data);
        Path file = tmp.resolve("blob.bin");
        Files.write(file, data);
        Artifact artifact = artifacts.put(file);
        ArtifactDelivery first = session.deliver(artifact, artifacts);
        String path = first.path();
        String sum = run(Command.of("sha256sum", path)).get(0);
        assertTrue(sum.startsWith("stdout:" + artifact.sha256()), sum);
        assertEquals(artifact.size(), first.controllerBytes(), "the whole artifact was sent: " + first);
        assertNull(first.relay());
        ArtifactDelivery again = session.deliver(artifact, artifacts);
        assertEquals(path, again.path());
        assertEquals(0, again.controllerBytes(), "an intact copy is not sent again: " + again);
        run(Command.shell("printf corrupt > \"$1\"", path));
        assertEquals(path, session.ensureArtifact(artifact, artifacts));
        assertTrue(run(Command.of("sha256sum", path)).get(0).startsWith("stdout:" + artifact.sha256()));
    }

    @Test
    void reportsFactsAndRoot() {
        assertNotNull(session.facts().packageFamily());
        assertTrue(session.root().startsWith("/"), session.root());
    }

    @Test
    void emptyArgvIsRefusedBeforeReachingTheNode() {
        assertThrows(IllegalArgumentException.class, () -> Command.of(List.of()));
        assertEquals(List.of("stdout:" + new String("ok".getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)),
                run(Command.of("echo", "ok")));
    }
}
