package dev.deploykit.agent;

import dev.deploykit.Facts;
import dev.deploykit.spi.support.DaemonThreads;
import dev.deploykit.spi.support.TlsFiles;
import dev.deploykit.transport.grpc.proto.AgentMessage;
import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.CancelTask;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import dev.deploykit.transport.grpc.proto.Heartbeat;
import dev.deploykit.transport.grpc.proto.Hello;
import dev.deploykit.transport.grpc.proto.RunTask;
import dev.deploykit.transport.grpc.proto.TaskOutput;
import dev.deploykit.transport.grpc.proto.TaskResult;
import io.github.resilience4j.core.IntervalFunction;
import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent: dials out to the controller, says Hello with its facts, runs the tasks it is sent, and
 * reconnects with exponential backoff and jitter when the connection drops. Tasks keep running
 * across reconnects; results go out on whichever stream is current, and a task the controller sends
 * again is answered from the journal.
 */
final class Agent implements AutoCloseable {
    static final String VERSION = "0.1.0";
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    private static final int OUTPUT_BATCH_LINES = 64;
    /** Output lines wait at most this long for more to share their message. */
    private static final long OUTPUT_FLUSH_MILLIS = 100;

    private AgentConfig config;
    private final String agentId;
    private final List<Controller> controllers = new ArrayList<>();
    /** Index into {@link #controllers} of the one to connect to next. */
    private int next;
    private final StepRunner steps;
    private final ArtifactCache cache;
    private final RelayClients relays;
    /** This agent's relay server, when started with {@code --relay}; else null. */
    private final Relay relay;
    private final Fences fences;
    private final InventoryReporter inventory;
    private final ExecutorService workers = Executors.newCachedThreadPool(DaemonThreads.factory("agent-task-"));
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("agent-heartbeat-"));
    private final Map<String, Running> inFlight = new ConcurrentHashMap<>();
    private volatile Sender sender;
    private volatile boolean closed;

    Agent(AgentConfig config) throws IOException {
        this.config = config;
        Files.createDirectories(config.stateDir());
        String id = identity(config);
        if (config.certFile() == null && config.enrollTokenFile() != null) {
            try {
                this.config = config = Enroller.ensureCertificate(config, id);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while enrolling", e);
            }
            id = identity(config.stateDir());
        }
        this.agentId = id;
        this.steps = new StepRunner(config.stateDir(), config.installRoot());
        this.cache = new ArtifactCache(config.stateDir(), config.cacheMaxBytes(), agentId);
        this.relays = new RelayClients(config.certFile(), config.keyFile(), config.caFile());
        if (config.relay() != null) {
            if (config.certFile() == null || config.caFile() == null) {
                throw new IllegalArgumentException("--relay needs mutual TLS: --ca and this agent's certificate (--cert/--key or enrollment)");
            }
            this.relay = new Relay(config.relay(), id, config.certFile(), config.keyFile(), config.caFile(),
                    config.stateDir().resolve("artifacts/sha256"), config.relayMibPerSecond() << 20, config.relayPeerMibPerSecond() << 20);
        } else {
            this.relay = null;
        }
        this.fences = new Fences(config.stateDir());
        this.inventory = new InventoryReporter(config.installRoot());
        String token = config.token();
        CallCredentials credentials = new CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
                Metadata headers = new Metadata();
                if (token != null) {
                    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
                }
                applier.apply(headers);
            }
        };
        ChannelCredentials tls = AgentTls.credentials(config);
        for (String address : config.controllers()) {
            ManagedChannel channel = NettyChannelBuilder.forTarget(address, tls)
                    .keepAliveTime(config.keepAliveSeconds(), TimeUnit.SECONDS)
                    .keepAliveTimeout(Math.min(10, config.keepAliveSeconds()), TimeUnit.SECONDS)
                    .keepAliveWithoutCalls(true)
                    .maxInboundMessageSize(4 * 1024 * 1024)
                    .flowControlWindow(8 * 1024 * 1024)
                    .build();
            controllers.add(new Controller(address, channel, AgentServiceGrpc.newStub(channel).withCallCredentials(credentials),
                    AgentServiceGrpc.newBlockingStub(channel).withCallCredentials(credentials)));
        }
    }

    /** One controller's gateway: the agent talks to one at a time. */
    private record Controller(String address, ManagedChannel channel, AgentServiceGrpc.AgentServiceStub stub,
            AgentServiceGrpc.AgentServiceBlockingStub blocking) {}

    /** The id an enrollment kept in the state dir. */
    private static String identity(Path stateDir) throws IOException {
        return Files.readString(stateDir.resolve("agent-id")).trim();
    }

    /**
     * The agent id: --id, else the one its certificate (--cert) names, else the one kept in the state
     * dir, else a new one that is kept. (An --id other than the certificate's is refused by the
     * gateway, which names both.)
     */
    private static String identity(AgentConfig config) throws IOException {
        Path file = config.stateDir().resolve("agent-id");
        String id = config.agentId();
        if (id == null && config.certFile() != null) {
            id = TlsFiles.agentId(TlsFiles.certificates(config.certFile()).get(0)).orElseThrow(() -> new IllegalArgumentException(
                    "--cert " + config.certFile() + " names no agent id (neither a SAN URI " + TlsFiles.AGENT_URI_PREFIX + "<id> nor a CN)"));
        }
        if (id != null) {
            Files.writeString(file, id + "\n");
            return id;
        }
        if (Files.exists(file)) {
            return Files.readString(file).trim();
        }
        String host = InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9._-]", "-");
        String made = (host.isEmpty() ? "agent" : host) + "-" + UUID.randomUUID().toString().substring(0, 8);
        Files.writeString(file, made + "\n");
        return made;
    }

    /** Connects and serves until closed, reconnecting after every drop. */
    void run() throws InterruptedException {
        IntervalFunction backoff = IntervalFunction.ofExponentialRandomBackoff(500, 2.0, 0.5, 30_000);
        int failures = 0;
        while (!closed) {
            Controller controller = controllers.get(next);
            Session session = new Session(controller);
            session.start();
            session.ended.await();
            if (closed) {
                break;
            }
            failures = session.welcomed ? 1 : failures + 1;
            // with several controllers, a dropped one is most likely gone: try the next
            next = (next + 1) % controllers.size();
            long wait = backoff.apply(failures);
            log.warn("connection to {} ended ({}); connecting to {} in {} ms", controller.address(), session.why,
                    controllers.get(next).address(), wait);
            TimeUnit.MILLISECONDS.sleep(wait);
        }
    }

    /** One Connect stream. */
    private final class Session implements ClientResponseObserver<AgentMessage, ControllerMessage> {
        final Controller controller;
        final CountDownLatch ended = new CountDownLatch(1);
        volatile boolean welcomed;
        volatile String why = "";
        private Sender out;
        private ScheduledFuture<?> heartbeat;
        private ScheduledFuture<?> flusher;
        private ScheduledFuture<?> inventoryCheck;

        Session(Controller controller) {
            this.controller = controller;
        }

        void start() {
            controller.stub().connect(this);
            out.send(AgentMessage.newBuilder().setHello(hello()).build());
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<AgentMessage> requests) {
            out = new Sender(requests);
            requests.setOnReadyHandler(out::ready);
        }

        @Override
        public void onNext(ControllerMessage message) {
            switch (message.getKindCase()) {
                case WELCOME -> {
                    welcomed = true;
                    sender = out;
                    long every = Math.max(1000, message.getWelcome().getHeartbeatIntervalMillis());
                    heartbeat = timer.scheduleAtFixedRate(() -> out.send(AgentMessage.newBuilder()
                            .setHeartbeat(Heartbeat.newBuilder().setSentAtMillis(System.currentTimeMillis())).build()),
                            every, every, TimeUnit.MILLISECONDS);
                    flusher = timer.scheduleAtFixedRate(out::flush, OUTPUT_FLUSH_MILLIS, OUTPUT_FLUSH_MILLIS, TimeUnit.MILLISECONDS);
                    log.info("connected to {} as {}", controller.address(), agentId);
                    // the full report and the checks run on the worker pool: listing spawns a process,
                    // which must not hold up this stream's thread (or the heartbeat timer)
                    workers.submit(() -> inventory.full(out::send));
                    long check = config.inventoryCheckMillis();
                    inventoryCheck = timer.scheduleWithFixedDelay(() -> workers.submit(() -> inventory.check(false, currentSender())),
                            check, check, TimeUnit.MILLISECONDS);
                }
                case RUN -> accept(message.getRun(), controller);
                case CANCEL -> cancel(message.getCancel());
                case NOTICE -> log.warn("controller {} says: {}", controller.address(), message.getNotice().getText());
                case RELAY_GRANT -> {
                    if (relay != null) {
                        relay.grant(message.getRelayGrant());
                    } else {
                        log.warn("controller {} sent a relay grant, but this agent is no relay (no --relay)", controller.address());
                    }
                }
                default -> { }
            }
        }

        @Override
        public void onError(Throwable t) {
            Status status = Status.fromThrowable(t);
            why = status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
            String tls = TlsFailures.explain(t, controller.address(), config.certFile(), false);
            if (tls != null) {
                log.error(tls);
                why = status.getCode() + ": TLS handshake failed";
            } else if (status.getCode() == Status.Code.UNAUTHENTICATED || status.getCode() == Status.Code.PERMISSION_DENIED
                    || status.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                log.error("the controller at {} refused this agent ({}): {}", controller.address(), agentId, why);
            }
            end();
        }

        @Override
        public void onCompleted() {
            why = "closed by the controller";
            end();
        }

        private void end() {
            out.close();
            if (heartbeat != null) {
                heartbeat.cancel(false);
            }
            if (flusher != null) {
                flusher.cancel(false);
            }
            if (inventoryCheck != null) {
                inventoryCheck.cancel(false);
            }
            ended.countDown();
        }
    }

    private Hello hello() {
        Hello.Builder hello = Hello.newBuilder().setAgentId(agentId).setAgentVersion(VERSION).setArch(Facts.jvmArch())
                .putAllLabels(config.labels()).setInstallRoot(config.installRoot()).addAllRunningTaskIds(steps.runningIds());
        if (config.relay() != null) {
            hello.setRelayEndpoint(config.relay());
        }
        try {
            hello.setHostname(InetAddress.getLocalHost().getHostName());
            NetworkInterface.networkInterfaces().filter(i -> {
                try {
                    return i.isUp() && !i.isLoopback();
                } catch (IOException e) {
                    return false;
                }
            }).flatMap(NetworkInterface::inetAddresses).forEach(a -> hello.addAddresses(a.getHostAddress()));
        } catch (IOException e) {
            log.warn("cannot read host name or addresses: {}", e.getMessage());
        }
        hello.putAllInventory(bundleInventory());
        Path osRelease = Facts.osReleaseFile(Path.of(config.installRoot()));
        try {
            hello.setOsRelease(Files.readString(osRelease));
        } catch (IOException e) {
            log.warn("cannot read {}: {}", osRelease, e.getMessage());
        }
        return hello.build();
    }

    /** Script bundles installed under the install root: name to the version its current link names. */
    private Map<String, String> bundleInventory() {
        Map<String, String> inventory = new java.util.TreeMap<>();
        Path bundles = Path.of(config.installRoot(), "var/lib/deploykit/bundles");
        if (!Files.isDirectory(bundles)) {
            return inventory;
        }
        try (var dirs = Files.list(bundles)) {
            for (Path d : dirs.toList()) {
                Path current = d.resolve("current");
                if (Files.isSymbolicLink(current)) {
                    inventory.put(d.getFileName().toString(), Files.readSymbolicLink(current).toString());
                }
            }
        } catch (IOException e) {
            log.warn("cannot read installed bundles under {}: {}", bundles, e.getMessage());
        }
        return inventory;
    }

    /** A task in flight here: the RunTask it came with, and where to send its output from again. */
    private record Running(RunTask task, StepRunner.Rewind rewind) {}

    /**
     * Starts a task unless it is already running here. A re-send (after a reconnect) of a running task
     * sends its output again from the lines the controller says it has. Fencing is checked first, on
     * the stream's thread and so in order with cancels: a re-send by a new owner raises the epoch.
     */
    private void accept(RunTask task, Controller from) {
        String id = task.getTaskId();
        String refused;
        try {
            refused = fences.admit(task.getFencingScope(), task.getFencingEpoch(), "task");
        } catch (IOException e) {
            refused = "cannot record the fencing epoch of " + task.getFencingScope() + ": " + e.getMessage();
        }
        Running running = new Running(task, new StepRunner.Rewind());
        Running already = refused == null ? inFlight.putIfAbsent(id, running) : inFlight.get(id);
        if (refused != null) {
            log.warn("task {}: {}", id, refused);
            if (already == null) {
                send(TaskResult.newBuilder().setTaskId(id).setExitCode(-1).setError(refused).build());
            }
            return;
        }
        if (already != null) {
            already.rewind().request(task.getStdoutLinesSeen(), task.getStderrLinesSeen());
            return;
        }
        workers.submit(() -> {
            TaskResult result;
            try {
                result = switch (task.getStepCase()) {
                    case EXEC -> steps.run(id, task.getExec(), task.getStdoutLinesSeen(), task.getStderrLinesSeen(),
                            new Batcher(id), running.rewind());
                    case ENSURE_ARTIFACT -> {
                        List<String> notes = new ArrayList<>();
                        Map<String, Long> relayed = new java.util.HashMap<>();
                        Path path = cache.ensure(task.getEnsureArtifact(), from.blocking(), relays, notes, relayed);
                        yield TaskResult.newBuilder().setTaskId(id).setArtifactPath(path.toString()).addAllArtifactNotes(notes)
                                .putAllRelayBytes(relayed).build();
                    }
                    default -> TaskResult.newBuilder().setTaskId(id).setError("unknown step " + task.getStepCase()).build();
                };
            } catch (Exception e) {
                log.warn("task {} failed: {}", id, e.toString());
                result = TaskResult.newBuilder().setTaskId(id).setExitCode(-1).setError(e.toString()).build();
            } finally {
                inFlight.remove(id);
            }
            send(result);
            inventory.check(true, currentSender());
        });
    }

    /** Sends on the current stream; null when not connected. */
    private java.util.function.Consumer<AgentMessage> currentSender() {
        Sender current = sender;
        return current == null ? null : current::send;
    }

    private void send(TaskResult result) {
        Sender current = sender;
        if (current != null) {
            current.send(AgentMessage.newBuilder().setResult(result).build());
        }
    }

    /**
     * Cancels a running task unless the cancel is fenced lower than the task's scope has seen (it
     * then comes from a controller that lost the deployment, and the step may be the new owner's).
     */
    private void cancel(CancelTask cancel) {
        Running running = inFlight.get(cancel.getTaskId());
        if (running == null) {
            return;
        }
        String scope = running.task().getFencingScope();
        String refused;
        if (!scope.isEmpty() && !scope.equals(cancel.getFencingScope())) {
            refused = "refused: task " + cancel.getTaskId() + " is fenced by " + scope + ", and this cancel came for '"
                    + cancel.getFencingScope() + "'";
        } else {
            try {
                refused = fences.admit(scope, cancel.getFencingEpoch(), "cancel");
            } catch (IOException e) {
                refused = "cannot record the fencing epoch of " + scope + ": " + e.getMessage();
            }
        }
        if (refused != null) {
            log.warn("cancel of task {}: {}", cancel.getTaskId(), refused);
            return;
        }
        steps.cancel(cancel.getTaskId());
    }

    /** Passes a task's numbered output lines to the current stream. */
    private final class Batcher implements StepRunner.NumberedOutput {
        private final String taskId;

        Batcher(String taskId) {
            this.taskId = taskId;
        }

        @Override
        public void line(String stream, long index, String line) {
            Sender current = sender;
            if (current != null) {
                current.line(taskId, stream, index, line);
            }
        }
    }

    /**
     * Writes to one Connect stream, waiting while gRPC says the stream is not ready: a chatty step
     * then slows to the network's pace instead of filling this process's memory.
     */
    private static final class Sender {
        private final ClientCallStreamObserver<AgentMessage> stream;
        private final Object lock = new Object();
        private boolean open = true;
        private String batchTask;
        private String batchStream;
        private long batchFirst;
        private final List<String> batch = new ArrayList<>();

        Sender(ClientCallStreamObserver<AgentMessage> stream) {
            this.stream = stream;
        }

        void ready() {
            synchronized (lock) {
                lock.notifyAll();
            }
        }

        void line(String taskId, String streamName, long index, String line) {
            synchronized (lock) {
                if (!taskId.equals(batchTask) || !streamName.equals(batchStream) || index != batchFirst + batch.size()) {
                    flushBatch();
                    batchTask = taskId;
                    batchStream = streamName;
                    batchFirst = index;
                }
                batch.add(line);
                if (batch.size() >= OUTPUT_BATCH_LINES) {
                    flushBatch();
                }
            }
        }

        /** Sends the lines waiting for more to share their message. */
        void flush() {
            synchronized (lock) {
                flushBatch();
            }
        }

        void send(AgentMessage message) {
            synchronized (lock) {
                flushBatch();
                write(message);
            }
        }

        private void flushBatch() {
            if (!batch.isEmpty()) {
                write(AgentMessage.newBuilder().setOutput(TaskOutput.newBuilder().setTaskId(batchTask).setStream(batchStream)
                        .setFirstLine(batchFirst).addAllLines(batch)).build());
                batch.clear();
            }
        }

        private void write(AgentMessage message) {
            try {
                while (open && !stream.isReady()) {
                    lock.wait(100);
                }
                if (open) {
                    stream.onNext(message);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                open = false;
            }
        }

        void close() {
            synchronized (lock) {
                open = false;
                lock.notifyAll();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        if (relay != null) {
            relay.close();
        }
        controllers.forEach(c -> c.channel().shutdownNow());
        workers.shutdownNow();
        timer.shutdownNow();
    }
}
