package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.Server;
import dev.deploykit.TransportException;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.support.StepProcesses;
import dev.deploykit.transport.local.LocalTransport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every process a step starts ends with it: on cancel and timeout, children that called
 * {@code setsid} and double-forked daemons are killed; a child that keeps the step's output open
 * after it ended is killed after a short grace. On the local transport (with the cgroup, and with
 * {@code /proc} alone) and on a real agent. Processes are recognized by a marker in their argv.
 */
class StepProcessesTest {
    @TempDir
    Path dir;
    AgentFixtures.Controller controller;
    AgentFixtures.AgentProcess agent;
    final List<String> markers = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        System.clearProperty(StepProcesses.CGROUPS_PROPERTY);
        if (agent != null) {
            agent.close();
        }
        if (controller != null) {
            controller.close();
        }
        // leave nothing behind even when an assertion failed
        for (String m : markers) {
            StepProcesses.kill(running(m));
        }
    }

    /** A session on {@code where}: "local", "local-proc" (no cgroup) or "agent". */
    private NodeSession open(String where) throws Exception {
        if (where.startsWith("local")) {
            if (where.equals("local-proc")) {
                System.setProperty(StepProcesses.CGROUPS_PROPERTY, "off");
            }
            return LocalTransport.create().open(Server.of("n1", Binding.local(dir.resolve("node")), Map.of()));
        }
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        controller = AgentFixtures.Controller.start(AgentFixtures.gateway(pki), dir.resolve("artifacts"));
        Path state = dir.resolve("a1");
        agent = new AgentFixtures.AgentProcess(state, AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN),
                controller.gateway().port(), "a1", state, Files.createDirectories(dir.resolve("root-a1")))).start();
        controller.awaitConnected("a1");
        return controller.open("a1");
    }

    /** A unique sleep length, e.g. {@code 300.123456}: it appears in the argv of the sleep it names. */
    private String marker() {
        String m = "300." + (100_000 + ThreadLocalRandom.current().nextInt(900_000));
        markers.add(m);
        return m;
    }

    /** Pids of live processes whose argv holds {@code marker}. */
    private static java.util.Set<Long> running(String marker) {
        java.util.Set<Long> found = new java.util.TreeSet<>();
        try (Stream<Path> all = Files.list(Path.of("/proc"))) {
            for (Path p : all.toList()) {
                try {
                    String argv = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    if (argv.contains(marker) && !Files.readString(p.resolve("stat")).matches("\\d+ \\(.*\\) Z .*\\s*")) {
                        found.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException | NumberFormatException e) {
                    // gone, or not a process
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return found;
    }

    /** Starts a detached child ({@code setsid}) and a double-forked daemon, then waits. */
    private Command detaching(String setsidMarker, String daemonMarker, Path started) {
        return Command.shell("setsid sleep " + setsidMarker + " >/dev/null 2>&1 & "
                + "( sh -c 'sleep " + daemonMarker + " >/dev/null 2>&1 &' & ); touch \"$1\"; sleep 120", started.toString());
    }

    private void awaitBoth(String a, String b) throws InterruptedException {
        AgentFixtures.waitUntil(Duration.ofSeconds(20), () -> !running(a).isEmpty() && !running(b).isEmpty(), "both children to start");
    }

    private void awaitGone(String... ms) throws InterruptedException {
        for (String m : ms) {
            AgentFixtures.waitUntil(Duration.ofSeconds(10), () -> running(m).isEmpty(), "every process with '" + m + "' in its argv to end");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "local-proc", "agent"})
    void aCancelKillsSetsidChildrenAndDoubleForkedDaemons(String where) throws Exception {
        // seen with the agent: setsid children and double-forked daemons survived a cancel
        String detached = marker();
        String daemon = marker();
        Path started = dir.resolve("started");
        try (NodeSession s = open(where)) {
            CompletableFuture<Throwable> ended = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    s.exec("cancel.1.1", detaching(detached, daemon, started), (stream, line) -> { });
                    ended.complete(null);
                } catch (RuntimeException e) {
                    ended.complete(e);
                }
            });
            t.start();
            AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> Files.exists(started), "the step to start");
            awaitBoth(detached, daemon);
            t.interrupt();
            Throwable e = ended.get(30, TimeUnit.SECONDS);
            assertTrue(e instanceof TransportException, "the step was cancelled: " + e);
            awaitGone(detached, daemon);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "local-proc", "agent"})
    void aTimeoutKillsSetsidChildrenAndDoubleForkedDaemons(String where) throws Exception {
        String detached = marker();
        String daemon = marker();
        try (NodeSession s = open(where)) {
            ExecResult r = s.exec("timeout.1.1", detaching(detached, daemon, dir.resolve("started")).withTimeout(Duration.ofSeconds(4)),
                    (stream, line) -> { });
            assertTrue(r.timedOut(), r.toString());
            awaitGone(detached, daemon);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"local", "local-proc", "agent"})
    void aStepEndsWhenItsMainProcessEndsAndAChildHoldingItsOutputIsKilled(String where) throws Exception {
        // seen on the local transport: such a step took 10 s and the child survived
        String child = marker();
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        try (NodeSession s = open(where)) {
            long start = System.nanoTime();
            ExecResult r = s.exec("holder.1.1", Command.shell("sleep " + child + " & echo done"), (stream, line) -> lines.add(stream + ": " + line));
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(0, r.exitCode(), r.toString());
            assertTrue(took < 6_000, "the step took " + took + " ms");
            assertEquals("stdout: done", lines.get(0), lines.toString());
            assertTrue(lines.size() == 2 && lines.get(1).startsWith("stderr: deploykit: the step ended, but 1 process(es) it started "
                    + "kept its output open for 2 s and were killed"), lines.toString());
            awaitGone(child);
        }
    }
}
