package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.TransportException;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.support.Sha256;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.transport.grpc.AgentGateway;
import dev.deploykit.transport.grpc.proto.AgentMessage;
import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.CancelTask;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import dev.deploykit.transport.grpc.proto.Exec;
import dev.deploykit.transport.grpc.proto.RunTask;
import dev.deploykit.transport.grpc.proto.TaskResult;
import dev.deploykit.transport.grpc.proto.Welcome;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults injected into real agent processes (issue #12, "Correct under faults"): stale controllers'
 * cancels and tasks, partitions, slow and corrupting links, a full disk. Each test says what was seen
 * before the fix.
 */
class AgentFaultsTest {
    @TempDir
    Path dir;
    AgentFixtures.Pki pki;
    AgentFixtures.Controller controller;
    AgentGateway gateway;
    final List<AutoCloseable> closeLast = new ArrayList<>();
    final List<AgentFixtures.AgentProcess> agents = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        agents.forEach(AgentFixtures.AgentProcess::close);
        if (controller != null) {
            controller.close();
        }
        Collections.reverse(closeLast);
        for (AutoCloseable c : closeLast) {
            c.close();
        }
    }

    private void startGateway(AgentGateway.Builder builder) {
        controller = AgentFixtures.Controller.start(builder, dir.resolve("artifacts"));
        gateway = controller.gateway();
    }

    private void startTlsGateway() throws Exception {
        pki = AgentFixtures.pki(dir);
        startGateway(AgentFixtures.gateway(pki));
    }

    /** An agent JVM with its state in {@code state}, stopped after the test. */
    private AgentFixtures.AgentProcess agent(Path state, List<String> args) throws IOException {
        agents.add(new AgentFixtures.AgentProcess(state, args).start());
        return agents.get(agents.size() - 1);
    }

    private AgentFixtures.AgentProcess tlsAgent(String id, int port, Path state, String... extra) throws Exception {
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), port, id, state,
                Files.createDirectories(dir.resolve("root-" + id)));
        args.addAll(List.of(extra));
        return agent(state, args);
    }

    private List<String> plaintextArgs(String id, int port) throws IOException {
        return new ArrayList<>(List.of("--controller", "127.0.0.1:" + port, "--insecure", "--token-file",
                AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN).toString(), "--id", id, "--state-dir", dir.resolve(id).toString(),
                "--root", Files.createDirectories(dir.resolve("root-" + id)).toString()));
    }

    private void awaitConnected(String id) throws InterruptedException {
        controller.awaitConnected(id);
    }

    private NodeSession open(String id) {
        return controller.open(id);
    }

    /** Output lines in order, as a listener saw them. */
    private static final class Lines implements OutputListener {
        final List<String> lines = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onLine(String stream, String line) {
            lines.add(stream + ": " + line);
        }
    }

    // 1. Fencing both ways

    @Test
    void aStaleControllersCancelDoesNotKillTheStepTheNewOwnerResentUnderTheSameKey() throws Exception {
        // seen: the stale controller's interrupted node thread sent an unfenced CancelTask, and the agent
        // killed the step the new owner had re-sent under the same key; the deployment failed
        startTlsGateway();
        tlsAgent("f1", gateway.port(), dir.resolve("f1"));
        awaitConnected("f1");
        Path counter = dir.resolve("counter");
        Command step = Command.shell("echo run >> \"$1\"; echo started; sleep 5; echo done", counter.toString());
        NodeSession stale = open("f1");
        stale.fence("d-1", 1);
        NodeSession owner = open("f1");
        owner.fence("d-1", 2);
        CompletableFuture<Throwable> staleEnd = new CompletableFuture<>();
        Thread staleThread = new Thread(() -> {
            try {
                stale.exec("n1.1.1", step, OutputListener.IGNORE);
                staleEnd.complete(null);
            } catch (RuntimeException e) {
                staleEnd.complete(e);
            }
        });
        staleThread.start();
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> Files.exists(counter), "the step to start");
        Lines ownerOut = new Lines();
        CompletableFuture<ExecResult> ownerRun = CompletableFuture.supplyAsync(() -> owner.exec("n1.1.1", step, ownerOut));
        Thread.sleep(1_000);
        staleThread.interrupt();

        ExecResult result = ownerRun.get(60, TimeUnit.SECONDS);
        assertEquals(0, result.exitCode(), "the new owner's step was not killed: " + result);
        assertEquals(List.of("run"), Files.readAllLines(counter), "the step ran once");
        assertEquals(List.of("stdout: started", "stdout: done"), ownerOut.lines, "the new owner got the output from line 0");
        Throwable staleError = staleEnd.get(30, TimeUnit.SECONDS);
        assertTrue(staleError instanceof TransportException && staleError.getMessage().contains("cancelled"), String.valueOf(staleError));
        agents.get(0).awaitLog("cancel of task n1.1.1: refused: d-1 is now run at fencing epoch 2, and this cancel came with epoch 1");
    }

    @Test
    void theAgentRefusesCancelsAndTasksFencedLowerThanTheScopeHasSeenIncludingEpochZero() throws Exception {
        try (HandMadeController handMade = new HandMadeController()) {
            AgentFixtures.AgentProcess a = agent(dir.resolve("h1"), plaintextArgs("h1", handMade.port()));
            handMade.awaitHello();
            Path pidFile = dir.resolve("sleep.pid");
            handMade.send(run("long", "d-1", 2, "echo $$ > \"$0\"; exec sleep 120", pidFile.toString()));
            AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> Files.exists(pidFile) && size(pidFile) > 0, "the long step to start");
            long sleepPid = Long.parseLong(Files.readString(pidFile).trim());

            handMade.send(cancel("long", "d-1", 1));
            handMade.send(cancel("long", "d-1", 0));
            handMade.send(cancel("long", "", 0));
            Path lowMarker = dir.resolve("low");
            Path zeroMarker = dir.resolve("zero");
            handMade.send(run("low", "d-1", 1, "touch \"$0\"", lowMarker.toString()));
            handMade.send(run("zero", "d-1", 0, "touch \"$0\"", zeroMarker.toString()));
            // the agent handles a stream's messages in order: these answers come after the three cancels were handled
            TaskResult low = handMade.result("low");
            TaskResult zero = handMade.result("zero");
            assertTrue(low.getError().contains("refused: d-1 is now run at fencing epoch 2, and this task came with epoch 1"), low.toString());
            assertTrue(zero.getError().contains("this task came unfenced (epoch 0)"), zero.toString());
            assertFalse(Files.exists(lowMarker) || Files.exists(zeroMarker), "no refused task ran");
            Thread.sleep(1_000);
            assertTrue(ProcessHandle.of(sleepPid).map(ProcessHandle::isAlive).orElse(false), "no lower cancel killed the step");
            assertTrue(handMade.resultIfAny("long") == null, "the long step is still running");
            a.awaitLog("cancel of task long: refused: d-1 is now run at fencing epoch 2, and this cancel came with epoch 1");
            a.awaitLog("this cancel came unfenced (epoch 0)");
            a.awaitLog("cancel of task long: refused: task long is fenced by d-1, and this cancel came for ''");

            handMade.send(cancel("long", "d-1", 2));
            TaskResult cancelled = handMade.result("long");
            assertEquals(-1, cancelled.getExitCode(), cancelled.toString());
            AgentFixtures.waitUntil(Duration.ofSeconds(10), () -> ProcessHandle.of(sleepPid).map(p -> !p.isAlive()).orElse(true),
                    "the step to be killed by the owner's cancel");
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    private static ControllerMessage run(String id, String scope, long epoch, String script, String arg) {
        return ControllerMessage.newBuilder().setRun(RunTask.newBuilder().setTaskId(id).setFencingScope(scope).setFencingEpoch(epoch)
                .setExec(Exec.newBuilder().addAllArgv(List.of("/bin/sh", "-c", script, arg)).setTimeoutMillis(300_000))).build();
    }

    private static ControllerMessage cancel(String id, String scope, long epoch) {
        return ControllerMessage.newBuilder().setCancel(CancelTask.newBuilder().setTaskId(id).setFencingScope(scope)
                .setFencingEpoch(epoch)).build();
    }

    /** A controller spoken by hand: a plaintext gRPC server on loopback that welcomes one agent and records what it sends. */
    private static final class HandMadeController implements AutoCloseable {
        final io.grpc.Server server;
        final LinkedBlockingQueue<AgentMessage> received = new LinkedBlockingQueue<>();
        final List<TaskResult> results = Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<StreamObserver<ControllerMessage>> agent = new CompletableFuture<>();

        HandMadeController() throws IOException {
            server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new AgentServiceGrpc.AgentServiceImplBase() {
                @Override
                public StreamObserver<AgentMessage> connect(StreamObserver<ControllerMessage> responses) {
                    return new StreamObserver<>() {
                        @Override
                        public void onNext(AgentMessage m) {
                            if (m.hasHello()) {
                                synchronized (responses) {
                                    responses.onNext(ControllerMessage.newBuilder().setWelcome(Welcome.newBuilder()
                                            .setControllerId("hand-made").setHeartbeatIntervalMillis(1_000)).build());
                                }
                                agent.complete(responses);
                            } else if (m.hasResult()) {
                                results.add(m.getResult());
                            }
                            received.add(m);
                        }

                        @Override
                        public void onError(Throwable t) {}

                        @Override
                        public void onCompleted() {}
                    };
                }
            }).build().start();
        }

        int port() {
            return server.getPort();
        }

        void awaitHello() throws Exception {
            agent.get(30, TimeUnit.SECONDS);
        }

        void send(ControllerMessage m) throws Exception {
            StreamObserver<ControllerMessage> out = agent.get(30, TimeUnit.SECONDS);
            synchronized (out) {
                out.onNext(m);
            }
        }

        TaskResult resultIfAny(String taskId) {
            synchronized (results) {
                return results.stream().filter(r -> r.getTaskId().equals(taskId)).findFirst().orElse(null);
            }
        }

        TaskResult result(String taskId) throws InterruptedException {
            AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> resultIfAny(taskId) != null, "the result of " + taskId);
            return resultIfAny(taskId);
        }

        @Override
        public void close() throws InterruptedException {
            server.shutdownNow();
            server.awaitTermination(10, TimeUnit.SECONDS);
        }
    }

    // 3. Output survives partitions

    @Test
    void outputWrittenDuringAPartitionArrivesExactlyOnceAndEveryStepRunsOnce() throws Exception {
        // seen: a step's output lines written while the link was down went to a dead stream, and a task
        // answered from the journal did not replay its output: 0 of 2 lines reached the events
        pki = AgentFixtures.pki(dir);
        startGateway(AgentFixtures.gateway(pki).keepAlive(Duration.ofSeconds(2)).heartbeat(Duration.ofSeconds(1)));
        FaultProxy proxy = new FaultProxy(gateway.port());
        closeLast.add(proxy);
        AgentFixtures.AgentProcess a = tlsAgent("p1", proxy.port(), dir.resolve("p1"), "--keepalive-seconds", "2");
        awaitConnected("p1");
        // ends while the link is down: answered from the journal after it heals
        Path shortRuns = dir.resolve("short-runs");
        Command shortStep = Command.shell("echo run >> \"$1\"; sleep 1; echo short-1; sleep 4; echo short-2", shortRuns.toString());
        // still running when the link heals: the lines it lost are sent again while it runs
        Path longRuns = dir.resolve("long-runs");
        Command longStep = Command.shell("echo run >> \"$1\"; sleep 1; echo long-1; sleep 13; echo long-2", longRuns.toString());
        Lines shortOut = new Lines();
        Lines longOut = new Lines();
        CompletableFuture<ExecResult> shortRun = CompletableFuture.supplyAsync(() -> {
            try (NodeSession s = open("p1")) {
                return s.exec("short.1.1", shortStep, shortOut);
            }
        });
        CompletableFuture<ExecResult> longRun = CompletableFuture.supplyAsync(() -> {
            try (NodeSession s = open("p1")) {
                return s.exec("long.1.1", longStep, longOut);
            }
        });
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> Files.exists(shortRuns) && Files.exists(longRuns), "both steps to start");
        proxy.pause();
        long pausedAt = System.nanoTime();
        AgentFixtures.waitUntil(Duration.ofSeconds(20), () -> !gateway.connectedAgents().contains("p1"), "the gateway to see the link broken");
        a.awaitLog("connection to 127.0.0.1:" + proxy.port() + " ended");
        Thread.sleep(Math.max(0, 9_000 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - pausedAt)));
        assertTrue(shortOut.lines.isEmpty() && longOut.lines.isEmpty(), "nothing crossed the paused link: " + shortOut.lines + longOut.lines);
        proxy.resume();

        assertEquals(0, shortRun.get(60, TimeUnit.SECONDS).exitCode());
        assertEquals(0, longRun.get(60, TimeUnit.SECONDS).exitCode());
        assertEquals(List.of("stdout: short-1", "stdout: short-2"), shortOut.lines);
        assertEquals(List.of("stdout: long-1", "stdout: long-2"), longOut.lines);
        assertEquals(List.of("run"), Files.readAllLines(shortRuns), "the short step ran once");
        assertEquals(List.of("run"), Files.readAllLines(longRuns), "the long step ran once");
    }

    @Test
    void outputReachesTheControllerWithinAFractionOfASecond() throws Exception {
        // seen: a line waited for the next heartbeat (or 63 more lines) before it was sent
        startTlsGateway();
        tlsAgent("o1", gateway.port(), dir.resolve("o1"));
        awaitConnected("o1");
        CompletableFuture<Long> firstLine = new CompletableFuture<>();
        Path printed = dir.resolve("printed");
        try (NodeSession s = open("o1")) {
            CompletableFuture<ExecResult> run = CompletableFuture.supplyAsync(() -> s.exec(Command.shell(
                    "echo hello; touch \"$1\"; sleep 3", printed.toString()), (stream, line) -> firstLine.complete(System.nanoTime())));
            AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> Files.exists(printed), "the line to be printed");
            long printedAt = System.nanoTime();
            long arrived = firstLine.get(3, TimeUnit.SECONDS);
            // the agent polls the output file every 30 ms and flushes every 100 ms; allow for a loaded machine
            assertTrue(TimeUnit.NANOSECONDS.toMillis(arrived - printedAt) < 1_000, "the line took "
                    + TimeUnit.NANOSECONDS.toMillis(arrived - printedAt) + " ms after it was printed");
            assertEquals(0, run.get(30, TimeUnit.SECONDS).exitCode());
        }
    }

    private Artifact randomArtifact(FileArtifactStore store, String name, long size) throws IOException {
        Path file = dir.resolve(name);
        Random random = new Random(size);
        byte[] block = new byte[1024 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long written = 0; written < size; written += block.length) {
                random.nextBytes(block);
                out.write(block, 0, (int) Math.min(block.length, size - written));
            }
        }
        Artifact artifact = store.put(file);
        Files.delete(file);
        return artifact;
    }

    @Test
    void a64MiBArtifactThroughDelayedSegmentsAndStallsArrivesWithItsDigestChecked() throws Exception {
        startTlsGateway();
        FaultProxy proxy = new FaultProxy(gateway.port());
        closeLast.add(proxy);
        tlsAgent("s1", proxy.port(), dir.resolve("s1"));
        awaitConnected("s1");
        FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
        long size = 64L * 1024 * 1024;
        Artifact artifact = randomArtifact(store, "big.bin", size);
        proxy.delay(0.05, Duration.ofMillis(300));
        CompletableFuture<Void> stalls = CompletableFuture.runAsync(() -> {
            try {
                for (long at : new long[] {size / 4, size * 2 / 3}) {
                    AgentFixtures.waitUntil(Duration.ofMinutes(3), () -> gateway.artifactBytesServed() >= at, at + " bytes served");
                    proxy.stall(Duration.ofSeconds(1));
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        String placed;
        try (NodeSession s = open("s1")) {
            placed = s.ensureArtifact(artifact, store);
        }
        stalls.get(10, TimeUnit.SECONDS);
        assertTrue(proxy.delayedSegments() > 0, "segments were delayed");
        assertEquals(dir.resolve("s1/artifacts/sha256/" + artifact.sha256()).toString(), placed);
        assertEquals(artifact.sha256(), Sha256.of(Path.of(placed)));
    }

    @Test
    void aByteCorruptedInTransitIsCaughtByTheDigestAndTheCopyIsNeverPlaced() throws Exception {
        // plaintext, so that the corruption reaches the agent's digest instead of failing a TLS record check
        startGateway(AgentGateway.builder().host("127.0.0.1").port(0).insecurePlaintext().token(AgentFixtures.TOKEN)
                .trustSelfNamedAgents().heartbeat(Duration.ofSeconds(2)).reconnectGrace(Duration.ofSeconds(60)));
        FaultProxy proxy = new FaultProxy(gateway.port());
        closeLast.add(proxy);
        agent(dir.resolve("x1"), plaintextArgs("x1", proxy.port()));
        awaitConnected("x1");
        FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
        Artifact artifact = randomArtifact(store, "bundle.bin", 8L * 1024 * 1024);
        proxy.corruptAt(proxy.downstreamBytes() + 4L * 1024 * 1024 + 12_345);
        Path cached = dir.resolve("x1/artifacts/sha256/" + artifact.sha256());
        try (NodeSession s = open("x1")) {
            TransportException e = assertThrows(TransportException.class, () -> s.ensureArtifact(artifact, store));
            assertEquals(1, proxy.corruptedBytes());
            assertTrue(e.getMessage().contains("artifact digest mismatch: expected " + artifact.sha256()), e.getMessage());
            assertFalse(Files.exists(cached), "the corrupt copy was not placed at " + cached);
            assertFalse(Files.exists(cached.resolveSibling(artifact.sha256() + ".partial")), "nor kept as a partial file");

            // the link is good again: the artifact is fetched whole and placed
            assertEquals(cached.toString(), s.ensureArtifact(artifact, store));
            assertEquals(artifact.sha256(), Sha256.of(cached));
        }
    }

    // 4. Disk full at staging

    @Test
    void anArtifactThatDoesNotFitLeavesNoPartialFileAndSaysNoSpaceLeft() throws Exception {
        // seen: a .partial file left behind kept the node's disk at 100% and a later unrelated step failed
        AgentFixtures.requireRoot("to mount a small tmpfs as the agent's state dir");
        startTlsGateway();
        Path small = Files.createDirectories(dir.resolve("small"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", small.toString())
                .redirectErrorStream(true).start();
        String mountOut = new String(mount.getInputStream().readAllBytes());
        assertEquals(0, mount.waitFor(), "mount: " + mountOut);
        closeLast.add(() -> new ProcessBuilder("umount", "-l", small.toString()).inheritIO().start().waitFor());
        Path state = small.resolve("state");
        tlsAgent("full", gateway.port(), state);
        awaitConnected("full");
        FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
        Artifact artifact = randomArtifact(store, "too-big.bin", 20L * 1024 * 1024);
        try (NodeSession s = open("full")) {
            TransportException e = assertThrows(TransportException.class, () -> s.ensureArtifact(artifact, store));
            assertTrue(e.getMessage().contains("no space left on " + state.resolve("artifacts/sha256")), e.getMessage());
            try (Stream<Path> left = Files.list(state.resolve("artifacts/sha256"))) {
                assertEquals(List.of(), left.toList(), "no partial file is left");
            }
            Lines out = new Lines();
            assertEquals(0, s.exec(Command.shell("echo later step; head -c 4000000 /dev/zero > \"$1\"",
                    state.resolve("room").toString()), out).exitCode(), "a later step that needs the space runs");
            assertEquals(List.of("stdout: later step"), out.lines);
        }
        // the same through a deployment that asks for rollback: nothing was changed, so it FAILED, naming the disk
        Path bundle = dev.deploykit.format.script.ScriptBundle.builder("big", "1.0").script("install", "true")
                .file("payload.bin", randomBytes(20 * 1024 * 1024)).writeTo(dir.resolve("big-1.0.tar.gz"));
        controller.kit().packages().publish(bundle);
        dev.deploykit.Deployment d = controller.kit().start(dev.deploykit.DeployPlan.builder()
                .action(dev.deploykit.Action.install("big", "1.0")).targetServers("full").rollbackOnFailure(true).build());
        assertEquals(dev.deploykit.DeploymentStatus.FAILED, d.await(Duration.ofMinutes(1)), d.tasks().toString());
        assertTrue(d.tasks().get(0).message().contains("no space left on"), d.tasks().get(0).message());
        dev.deploykit.DeployEvent last = d.events().get(d.events().size() - 1);
        assertTrue(last.toString().contains("no node was changed"), last.toString());
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new java.util.Random(7).nextBytes(b);
        return b;
    }
}
