package dev.deploykit.transport.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Command;
import dev.deploykit.TransportException;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Over SSH too, a timeout or a cancel ends every process the step started, also those that left its
 * process group: a {@code setsid} child and a double-forked daemon (real OpenSSH sshd on loopback;
 * the node is this machine, so its {@code /proc} shows what survived).
 */
class SshStepProcessesTest {
    static Path dir;
    static SshFixtures.Key hostKey;
    static SshFixtures.Key userKey;
    static SshFixtures.Sshd sshd;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("dk-ssh-procs-");
        hostKey = SshFixtures.keygen(dir, "host_ed25519");
        userKey = SshFixtures.keygen(dir, "id_ed25519");
        sshd = SshFixtures.openssh(dir, hostKey, userKey);
    }

    @AfterAll
    static void stop() {
        if (sshd != null) {
            sshd.close();
        }
    }

    /** A step that leaves a setsid child and a double-forked daemon (sleeps marked by {@code tag}), then waits. */
    private static Command escaping(String tag) {
        return Command.shell("setsid sleep 300." + tag + "1 >/dev/null 2>&1 < /dev/null & "
                + "( ( sleep 300." + tag + "2 >/dev/null 2>&1 < /dev/null & ) & ); sleep 60");
    }

    private static boolean running(String argvFragment) {
        return !pids(argvFragment).isEmpty();
    }

    /** Pids of this machine's processes whose command line contains {@code argvFragment}. */
    private static List<Long> pids(String argvFragment) {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().matches("[0-9]+")).filter(p -> {
                try {
                    return new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ')
                            .contains(argvFragment);
                } catch (IOException e) {
                    return false;
                }
            }).map(p -> Long.parseLong(p.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    @Test
    void aTimeoutKillsSetsidChildrenAndDoubleForkedDaemons() throws Exception {
        try (SshTransport ssh = SshFixtures.transport(dir, userKey, hostKey, List.of(sshd.port()));
                NodeSession s = ssh.open(SshFixtures.server("ssh-1", sshd, Files.createDirectories(dir.resolve("root"))))) {
            ExecResult r = s.exec(escaping("71").withTimeout(Duration.ofSeconds(3)), OutputListener.IGNORE);
            assertTrue(r.timedOut());
            await(() -> !running("sleep 300.711") && !running("sleep 300.712"), "the escaped processes to be gone");
        }
    }

    @Test
    void aStepEndsWhenItsMainProcessEndsAndAChildHoldingItsOutputIsKilledWhileAProperDaemonIsLeftAlone() throws Exception {
        try (SshTransport ssh = SshFixtures.transport(dir, userKey, hostKey, List.of(sshd.port()));
                NodeSession s = ssh.open(SshFixtures.server("ssh-1", sshd, Files.createDirectories(dir.resolve("root"))))) {
            List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
            long start = System.nanoTime();
            ExecResult r = s.exec(Command.shell("sleep 30.731 & setsid sleep 30.732 >/dev/null 2>&1 < /dev/null & echo done; exit 3"),
                    (stream, line) -> lines.add(stream + ": " + line));
            long took = Duration.ofNanos(System.nanoTime() - start).toSeconds();
            assertEquals(3, r.exitCode(), "the main process's exit code");
            assertTrue(took < 10, "the step ended with its main process, not with the child (" + took + " s)");
            assertTrue(lines.contains("stdout: done"), lines.toString());
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("stderr: deploykit: the step ended; killed 1 process(es)")), lines.toString());
            await(() -> !running("sleep 30.731"), "the child that held the output to be gone");
            assertTrue(running("sleep 30.732"), "a child that let go of the output is left running");
            pids("sleep 30.732").forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        }
    }

    @Test
    void aCancelKillsSetsidChildrenAndDoubleForkedDaemons() throws Exception {
        try (SshTransport ssh = SshFixtures.transport(dir, userKey, hostKey, List.of(sshd.port()));
                NodeSession s = ssh.open(SshFixtures.server("ssh-1", sshd, Files.createDirectories(dir.resolve("root"))))) {
            Thread[] runner = new Thread[1];
            CompletableFuture<Throwable> ended = new CompletableFuture<>();
            runner[0] = new Thread(() -> {
                try {
                    s.exec(escaping("72"), OutputListener.IGNORE);
                    ended.complete(null);
                } catch (Throwable t) {
                    ended.complete(t);
                }
            });
            runner[0].start();
            await(() -> running("sleep 300.721") && running("sleep 300.722"), "the step to start its children");
            runner[0].interrupt();
            Throwable t = ended.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(TransportException.class, t == null ? null : t.getClass());
            await(() -> !running("sleep 300.721") && !running("sleep 300.722"), "the escaped processes to be gone");
        }
    }
}
