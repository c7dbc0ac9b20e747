package dev.deploykit.benchmarks;

import dev.deploykit.spi.support.DaemonThreads;
import dev.deploykit.spi.support.Sha256;
import dev.deploykit.transport.grpc.AgentCa;
import dev.deploykit.transport.grpc.proto.AgentMessage;
import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.ArtifactChunk;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import dev.deploykit.transport.grpc.proto.FetchArtifactRequest;
import dev.deploykit.transport.grpc.proto.Heartbeat;
import dev.deploykit.transport.grpc.proto.Hello;
import dev.deploykit.transport.grpc.proto.InventoryEntry;
import dev.deploykit.transport.grpc.proto.InventoryReport;
import dev.deploykit.transport.grpc.proto.RunTask;
import dev.deploykit.transport.grpc.proto.TaskOutput;
import dev.deploykit.transport.grpc.proto.TaskResult;
import com.google.protobuf.ByteOutput;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Many simulated agents in one JVM, for load benchmarks: each has its own TLS connection and Connect
 * stream, says Hello, sends heartbeats at the interval the controller's Welcome gives, reports its
 * inventory (full on connect, deltas after a task that changed it) and pulls artifacts through
 * FetchArtifact, hashing them as a real agent does but keeping nothing on disk.
 *
 * <p>Exec tasks are answered at once, without running anything. The commands of the script-bundle
 * format are emulated on a per-agent map of symlinks, so that deployments and queries see the
 * versions they installed: {@code ln -sfn -- X P} records P to X, {@code readlink -- P} answers X on
 * stdout with exit 0 (exit 1 when P is absent), {@code rm -rf -- P} forgets P and everything under
 * it, and so do the format's one-command install ({@code sh -c ... DIR ARTIFACT PHASE VERSION HOME}
 * links {@code HOME/current} to VERSION) and remove ({@code sh -c ... HOME}); every other command exits 0. A link {@code .../var/lib/deploykit/bundles/NAME/current} is
 * bundle NAME at its target version, as {@code NodeInventory} lists it on a real node.
 *
 * <p>Each has its own certificate, issued at start by the test CA ({@code --ca-key}) as enrollment would,
 * since the gateway takes an agent's id from its certificate. At most {@code --connecting} TLS
 * handshakes are in flight at once; an agent whose stream ends reconnects after 1-2 s.
 *
 * <p>Commands on standard input, one per line (the process ends when its input closes):
 * {@code start N} starts N more agents; {@code drop N NAME} removes bundle NAME "by hand" on N of
 * the agents that have it (spread over the fleet) and sends each one's delta report at once,
 * printing {@code dropped ID EPOCH-MILLIS} per agent; {@code stats} prints
 * {@code stats agents=.. welcomed=.. heartbeats=.. reconnects=..}.
 *
 * <p>Args: {@code --controller HOST:PORT --count N --prefix sim --ca F --ca-key F --token T
 * [--labels k=v,k=v] [--connecting 64]}.
 */
public final class SimAgents {
    private static final Pattern BUNDLE_LINK = Pattern.compile(".*/var/lib/deploykit/bundles/([^/]+)/current");
    private static final List<String> FORMATS = List.of("script");
    /** Threads that prepare agents (a TLS context each costs about 12 ms of CPU). */
    private static final int PREPARERS = 2;

    private final String host;
    private final int port;
    private final String prefix;
    private final Map<String, String> labels;
    private final Metadata headers = new Metadata();
    private final File caFile;
    private final AgentCa ca;
    private final KeyPairGenerator keys;
    private final Semaphore connecting;
    private final ExecutorService fetchers = Executors.newFixedThreadPool(32, DaemonThreads.factory("sim-fetch-"));
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2, DaemonThreads.factory("sim-timer-"));
    private final ExecutorService reconnector = Executors.newSingleThreadExecutor(DaemonThreads.factory("sim-reconnect-"));
    private final List<Agent> agents = new ArrayList<>();
    private final AtomicLong heartbeats = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong welcomed = new AtomicLong();

    private SimAgents(String[] args) throws Exception {
        String[] hostPort = SshBenchmark.stringArg(args, "--controller", "127.0.0.1:7443").split(":");
        this.host = hostPort[0];
        this.port = Integer.parseInt(hostPort[1]);
        this.prefix = SshBenchmark.stringArg(args, "--prefix", "sim");
        this.labels = labels(SshBenchmark.stringArg(args, "--labels", "sim=true"));
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + SshBenchmark.stringArg(args, "--token", ""));
        this.caFile = new File(SshBenchmark.stringArg(args, "--ca", ""));
        this.ca = AgentCa.load(caFile.toPath(), Path.of(SshBenchmark.stringArg(args, "--ca-key", "")));
        this.keys = KeyPairGenerator.getInstance("EC");
        keys.initialize(new ECGenParameterSpec("secp256r1"));
        this.connecting = new Semaphore(SshBenchmark.intArg(args, "--connecting", 64));
    }

    public static void main(String[] args) throws Exception {
        SimAgents fleet = new SimAgents(args);
        int count = SshBenchmark.intArg(args, "--count", 1000);
        fleet.start(count);
        System.out.println("started " + count + " simulated agents");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] words = line.trim().split("\\s+");
            switch (words[0]) {
                case "start" -> {
                    int more = Integer.parseInt(words[1]);
                    fleet.start(more);
                    System.out.println("started " + more + " more simulated agents");
                }
                case "drop" -> fleet.drop(Integer.parseInt(words[1]), words[2]);
                case "stats" -> System.out.println("stats agents=" + fleet.size() + " welcomed=" + fleet.welcomed.get() + " heartbeats="
                        + fleet.heartbeats.get() + " reconnects=" + fleet.reconnects.get());
                case "" -> { }
                default -> System.out.println("unknown command: " + line);
            }
            System.out.flush();
        }
        // the benchmark that started us is gone (or done): so are we
        System.exit(0);
    }

    private static Map<String, String> labels(String text) {
        Map<String, String> labels = new TreeMap<>();
        for (String pair : text.split(",")) {
            if (!pair.isBlank()) {
                String[] kv = pair.split("=", 2);
                labels.put(kv[0].trim(), kv.length > 1 ? kv[1].trim() : "");
            }
        }
        return labels;
    }

    private synchronized int size() {
        return agents.size();
    }

    /**
     * Starts {@code count} more agents, numbered on from the ones there are: first prepares them all
     * (key, certificate, TLS context: what a real agent has before it starts) on {@link #PREPARERS}
     * threads, printing {@code prepared N in MS ms}, then prints {@code connecting N} and opens their
     * streams, at most {@code --connecting} handshakes at once. Returns when every one has begun connecting.
     */
    private void start(int count) throws Exception {
        int first;
        synchronized (this) {
            first = agents.size();
        }
        long t0 = System.nanoTime();
        ExecutorService preparers = Executors.newFixedThreadPool(PREPARERS, DaemonThreads.factory("sim-prepare-"));
        List<Future<Agent>> prepared = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = prefix + "-" + (first + i);
            prepared.add(preparers.submit(() -> new Agent(id)));
        }
        List<Agent> ready = new ArrayList<>();
        for (Future<Agent> f : prepared) {
            ready.add(f.get());
        }
        preparers.shutdown();
        System.out.println("prepared " + count + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        System.out.println("connecting " + count);
        System.out.flush();
        synchronized (this) {
            agents.addAll(ready);
        }
        for (Agent agent : ready) {
            connecting.acquire();
            agent.connect();
        }
    }

    /** Removes bundle {@code name} on {@code count} of the agents that have it, spread over the fleet, each reporting at once. */
    private void drop(int count, String name) {
        List<Agent> having = new ArrayList<>();
        synchronized (this) {
            for (Agent a : agents) {
                if (a.inventory().containsKey(name)) {
                    having.add(a);
                }
            }
        }
        int n = Math.min(count, having.size());
        for (int i = 0; i < n; i++) {
            Agent a = having.get((int) ((long) i * having.size() / n));
            a.dropBundle(name);
            System.out.println("dropped " + a.id + " " + System.currentTimeMillis());
        }
        System.out.println("dropped " + n + " of " + count);
    }

    /** One simulated agent: its connection, its stream and its emulated bundle links. Thread-safe (its lock). */
    private final class Agent {
        final String id;
        final ManagedChannel channel;
        final AgentServiceGrpc.AgentServiceStub stub;
        final AgentServiceGrpc.AgentServiceBlockingStub blocking;
        private final Object lock = new Object();
        /** Emulated symlinks, path to target. Guarded by lock. */
        private final Map<String, String> links = new HashMap<>();
        /** The inventory the controller was last sent; null before the full report. Guarded by lock. */
        private Map<String, String> sent;
        /** The current stream; null between connections. Guarded by lock. */
        private StreamObserver<AgentMessage> out;
        private ScheduledFuture<?> heartbeat;

        Agent(String id) throws Exception {
            this.id = id;
            KeyPair key;
            synchronized (keys) {
                key = keys.generateKeyPair();
            }
            TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder().trustManager(caFile)
                    .keyManager(new ByteArrayInputStream(AgentCa.pem(ca.issue(id, key.getPublic())).getBytes(StandardCharsets.US_ASCII)),
                            new ByteArrayInputStream(AgentCa.pem(key.getPrivate()).getBytes(StandardCharsets.US_ASCII)));
            this.channel = NettyChannelBuilder.forAddress(host, port, tls.build())
                    .maxInboundMessageSize(4 * 1024 * 1024).flowControlWindow(8 * 1024 * 1024).build();
            this.stub = AgentServiceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
            this.blocking = AgentServiceGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
        }

        /** Opens a Connect stream and says Hello; the caller holds a {@link #connecting} permit, released on Welcome or failure. */
        void connect() {
            boolean[] permit = {true};
            Runnable release = () -> {
                synchronized (permit) {
                    if (permit[0]) {
                        permit[0] = false;
                        connecting.release();
                    }
                }
            };
            StreamObserver<AgentMessage>[] stream = new StreamObserver[1];
            StreamObserver<ControllerMessage> in = new StreamObserver<>() {
                @Override
                public void onNext(ControllerMessage message) {
                    switch (message.getKindCase()) {
                        case WELCOME -> {
                            welcomed.incrementAndGet();
                            release.run();
                            welcome(stream[0], Math.max(1000, message.getWelcome().getHeartbeatIntervalMillis()));
                        }
                        case RUN -> run(message.getRun());
                        default -> { }
                    }
                }

                @Override
                public void onError(Throwable t) {
                    release.run();
                    ended(stream[0], t.toString());
                }

                @Override
                public void onCompleted() {
                    release.run();
                    ended(stream[0], "closed by the controller");
                }
            };
            synchronized (lock) {
                stream[0] = stub.connect(in);
                Hello.Builder hello = Hello.newBuilder().setAgentId(id).setHostname(id).setOsRelease("ID=debian\nVERSION_ID=12\n")
                        .setArch("x86_64").putAllLabels(labels).putAllInventory(bundles());
                stream[0].onNext(AgentMessage.newBuilder().setHello(hello).build());
            }
        }

        private void welcome(StreamObserver<AgentMessage> stream, long everyMillis) {
            synchronized (lock) {
                out = stream;
                if (heartbeat != null) {
                    heartbeat.cancel(false);
                }
                // as the real agent: the first heartbeat one interval after the Welcome
                heartbeat = timer.scheduleAtFixedRate(() -> {
                    if (send(AgentMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder().setSentAtMillis(System.currentTimeMillis())).build())) {
                        heartbeats.incrementAndGet();
                    }
                }, everyMillis, everyMillis, TimeUnit.MILLISECONDS);
                // the full report, as the real agent's InventoryReporter sends on every connection
                Map<String, String> now = bundles();
                InventoryReport.Builder report = InventoryReport.newBuilder().setFull(true).addAllFormats(FORMATS);
                now.forEach((name, version) -> report.addChanged(entry(name, version)));
                stream.onNext(AgentMessage.newBuilder().setInventory(report).build());
                sent = now;
            }
        }

        private void ended(StreamObserver<AgentMessage> stream, String why) {
            synchronized (lock) {
                if (out == stream) {
                    out = null;
                }
                if (heartbeat != null) {
                    heartbeat.cancel(false);
                    heartbeat = null;
                }
            }
            System.err.println(id + ": stream ended (" + why + "); reconnecting");
            reconnects.incrementAndGet();
            // waiting for a connect permit must not hold up the heartbeat timer
            timer.schedule(() -> reconnector.submit(() -> {
                try {
                    connecting.acquire();
                    connect();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }), 1000 + ThreadLocalRandom.current().nextLong(1000), TimeUnit.MILLISECONDS);
        }

        /** Sends on the current stream; false when not connected. */
        private boolean send(AgentMessage message) {
            synchronized (lock) {
                if (out == null) {
                    return false;
                }
                try {
                    out.onNext(message);
                    return true;
                } catch (RuntimeException e) {
                    return false;
                }
            }
        }

        private void run(RunTask task) {
            if (task.hasEnsureArtifact()) {
                fetchers.submit(() -> {
                    send(AgentMessage.newBuilder().setResult(fetch(blocking, task)).build());
                });
            } else if (task.hasExec()) {
                synchronized (lock) {
                    Answer answer = exec(task.getExec().getArgvList());
                    if (answer.stdout() != null) {
                        send(AgentMessage.newBuilder().setOutput(TaskOutput.newBuilder().setTaskId(task.getTaskId()).setStream("stdout")
                                .addLines(answer.stdout()).setFirstLine(0)).build());
                    }
                    send(AgentMessage.newBuilder().setResult(TaskResult.newBuilder().setTaskId(task.getTaskId()).setExitCode(answer.exit())
                            .setStdoutLines(answer.stdout() == null ? 0 : 1).setStderrLines(0)).build());
                    // as the real agent: a delta after a task that changed what is installed
                    report(true);
                }
            }
        }

        /** Applies an exec step to the emulated links. Called under lock. */
        private Answer exec(List<String> argv) {
            if (argv.size() == 5 && argv.get(0).equals("ln") && argv.get(1).equals("-sfn") && argv.get(2).equals("--")) {
                links.put(argv.get(4), argv.get(3));
            } else if (argv.size() == 3 && argv.get(0).equals("readlink") && argv.get(1).equals("--")) {
                String target = links.get(argv.get(2));
                return target == null ? new Answer(1, null) : new Answer(0, target);
            } else if (argv.size() == 4 && argv.get(0).equals("rm") && argv.get(1).equals("-rf") && argv.get(2).equals("--")) {
                forget(argv.get(3));
            } else if (argv.size() >= 9 && argv.get(0).equals("/bin/sh") && argv.get(1).equals("-c") && argv.get(2).contains("ln -sfn")) {
                // the bundle install, one command: sh -c SCRIPT sh DIR ARTIFACT PHASE VERSION HOME
                links.put(argv.get(8) + "/current", argv.get(7));
            } else if (argv.size() >= 5 && argv.get(0).equals("/bin/sh") && argv.get(1).equals("-c") && argv.get(2).contains("scripts/remove")) {
                // the bundle remove, one command: sh -c SCRIPT sh HOME
                forget(argv.get(4));
            }
            return new Answer(0, null);
        }

        /** {@code rm -rf -- path}: the link at path and every link under it. Called under lock. */
        private void forget(String path) {
            String under = path.endsWith("/") ? path : path + "/";
            links.keySet().removeIf(p -> p.equals(path) || p.startsWith(under));
        }

        /** Bundle name to version, from the {@code current} links. */
        private Map<String, String> bundles() {
            synchronized (lock) {
                Map<String, String> bundles = new TreeMap<>();
                links.forEach((path, target) -> {
                    Matcher m = BUNDLE_LINK.matcher(path);
                    if (m.matches()) {
                        bundles.put(m.group(1), target);
                    }
                });
                return bundles;
            }
        }

        Map<String, String> inventory() {
            return bundles();
        }

        /** Sends what changed since the last report, if anything did (InventoryReporter.changes). */
        private void report(boolean afterTask) {
            synchronized (lock) {
                if (sent == null || out == null) {
                    return;
                }
                Map<String, String> now = bundles();
                InventoryReport.Builder report = InventoryReport.newBuilder().setAfterTask(afterTask).addAllFormats(FORMATS);
                now.forEach((name, version) -> {
                    if (!Objects.equals(sent.get(name), version)) {
                        report.addChanged(entry(name, version));
                    }
                });
                sent.keySet().stream().filter(name -> !now.containsKey(name)).sorted().forEach(report::addRemoved);
                if (report.getChangedCount() == 0 && report.getRemovedCount() == 0) {
                    return;
                }
                if (send(AgentMessage.newBuilder().setInventory(report).build())) {
                    sent = now;
                }
            }
        }

        /** Bundle {@code name} removed by hand ({@code rm -rf} of its directory), seen and reported at once. */
        void dropBundle(String name) {
            synchronized (lock) {
                links.keySet().removeIf(p -> {
                    Matcher m = BUNDLE_LINK.matcher(p);
                    return m.matches() && m.group(1).equals(name);
                });
                report(false);
            }
        }
    }

    /** What an emulated command answers: its exit code and its one stdout line, or null for none. */
    private record Answer(int exit, String stdout) {}

    private static InventoryEntry entry(String name, String version) {
        return InventoryEntry.newBuilder().setName(name).setVersion(version).build();
    }

    private static TaskResult fetch(AgentServiceGrpc.AgentServiceBlockingStub stub, RunTask task) {
        String sha = task.getEnsureArtifact().getSha256();
        MessageDigest digest = Sha256.newDigest();
        Iterator<ArtifactChunk> chunks = stub.fetchArtifact(FetchArtifactRequest.newBuilder().setSha256(sha).build());
        ByteOutput hash = new ByteOutput() { // as the agent does: straight from the chunk's array
            @Override
            public void write(byte value) {
                digest.update(value);
            }

            @Override
            public void write(byte[] value, int offset, int length) {
                digest.update(value, offset, length);
            }

            @Override
            public void writeLazy(byte[] value, int offset, int length) {
                digest.update(value, offset, length);
            }

            @Override
            public void write(ByteBuffer value) {
                digest.update(value);
            }

            @Override
            public void writeLazy(ByteBuffer value) {
                digest.update(value);
            }
        };
        try {
            while (chunks.hasNext()) {
                UnsafeByteOperations.unsafeWriteTo(chunks.next().getData(), hash);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (RuntimeException e) {
            return TaskResult.newBuilder().setTaskId(task.getTaskId()).setError("fetch failed: " + e).build();
        }
        String actual = Sha256.hex(digest);
        TaskResult.Builder r = TaskResult.newBuilder().setTaskId(task.getTaskId()).setArtifactPath("/sim/" + actual);
        if (!actual.equals(sha)) {
            r.setError("digest mismatch: " + actual);
        }
        return r.build();
    }
}
