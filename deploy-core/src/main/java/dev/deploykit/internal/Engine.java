package dev.deploykit.internal;

import dev.deploykit.ConflictException;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployException;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.DesiredState;
import dev.deploykit.Groups;
import dev.deploykit.LivenessOptions;
import dev.deploykit.NodePreview;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.NotFoundException;
import dev.deploykit.Packages;
import dev.deploykit.PreviewOptions;
import dev.deploykit.ScriptSets;
import dev.deploykit.Server;
import dev.deploykit.Servers;
import dev.deploykit.Sources;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.Controls;
import dev.deploykit.spi.DeploymentRecord;
import dev.deploykit.spi.NodeContext;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.PackageFormat;
import dev.deploykit.spi.Relay;
import dev.deploykit.spi.SecretSource;
import dev.deploykit.spi.Store;
import dev.deploykit.spi.Transport;
import dev.deploykit.spi.support.DaemonThreads;
import dev.deploykit.spi.support.LastSeenBatch;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.store.memory.InMemoryStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The {@link DeployKit} implementation: wires the registries, the planner and deployment runs. */
public final class Engine implements DeployKit {
    private static final Logger log = LoggerFactory.getLogger(Engine.class);

    final Store store;
    final ArtifactStore artifacts;
    final Clock clock;
    final Secrets secrets;
    private final Map<String, Transport> transports;
    private final Map<String, PackageFormat> formats;
    private final ServerRegistry servers;
    private final GroupRegistry groups;
    private final PackageRepository packages;
    private final ScriptSetRegistry scriptSets;
    private final SourceRegistry sources = new SourceRegistry();
    private final SourceChanges sourceChanges;
    private final Planner planner;
    final ExecutorService nodeThreads = Executors.newCachedThreadPool(DaemonThreads.factory("deploykit-node-"));
    final ExecutorService runThreads = Executors.newCachedThreadPool(DaemonThreads.factory("deploykit-run-"));
    private final Map<String, DeploymentRun> live = new ConcurrentHashMap<>();
    private final RelayWorker relayWorker;
    private volatile boolean closed;
    private volatile Thread shutdownHook;
    private final Thread controlThread;
    private final ScheduledExecutorService takeover = Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("deploykit-takeover-"));
    /** Contacts with nodes noted by {@link ContactSession}s, written every {@link LivenessOptions#checkEvery()}. */
    private final LastSeenBatch contacts;
    private final LivenessOptions liveness;
    private final ServerWatch watch;
    private final ScheduledExecutorService livenessTimer = Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("deploykit-liveness-"));

    private final Reconciler reconciler;
    private final DesiredStateService desired;
    /** Lists the packages of nodes whose transport wants them polled: see {@link InventoryPoller}. */
    private final ScheduledExecutorService inventoryThread =
            Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("deploykit-inventory-"));
    private final ScheduledExecutorService reconcileThread =
            Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("deploykit-reconcile-"));

    public Engine(Store store, ArtifactStore artifacts, Path artifactDir, Map<String, Transport> transports,
            Map<String, PackageFormat> formats, SecretSource secrets, Clock clock, LivenessOptions liveness,
            java.time.Duration reconcileInterval, java.time.Duration inventoryPollInterval) {
        this.secrets = new Secrets(secrets);
        this.store = store != null ? store : new InMemoryStore();
        this.artifacts = artifacts != null ? artifacts : new FileArtifactStore(artifactDir != null ? artifactDir : tempDir());
        this.transports = Map.copyOf(transports);
        this.formats = Map.copyOf(formats);
        this.clock = clock;
        this.liveness = liveness;
        this.watch = new ServerWatch(liveness);
        this.contacts = new LastSeenBatch(this.store::updateLastSeen);
        this.servers = new ServerRegistry(this.store, this::probe, clock, liveness, watch);
        this.groups = new GroupRegistry(this.store, servers);
        this.scriptSets = new ScriptSetRegistry(this.store);
        this.packages = new PackageRepository(this.store, this.artifacts, this.formats, clock, sources, scriptSets, secrets);
        this.sourceChanges = new SourceChanges(sources, this.store, secrets);
        this.planner = new Planner(this.store, this.transports.keySet(), this.formats.keySet());
        this.relayWorker = this.store.relay().map(relay -> new RelayWorker(this, relay, takeover)).orElse(null);
        if (relayWorker != null) {
            DaemonThreads.start("deploykit-relay", relayWorker::loop);
        }
        adoptUnfinished();
        this.controlThread = this.store.controls().map(c -> DaemonThreads.start("deploykit-control", () -> serveControls(c))).orElse(null);
        this.store.takeoverCheckInterval().ifPresent(every -> takeover.scheduleWithFixedDelay(() -> {
            try {
                adoptUnfinished();
            } catch (RuntimeException e) {
                log.warn("looking for deployments to take over failed: {}", e.getMessage());
            }
        }, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS));
        this.reconciler = new Reconciler(this, this.store, clock);
        this.desired = new DesiredStateService(this.store, servers, reconciler, clock, System.getProperty("user.name", "unknown"));
        reconcileThread.scheduleWithFixedDelay(() -> {
            try {
                reconciler.pass();
            } catch (RuntimeException e) {
                log.warn("reconcile pass failed: {}", e.getMessage());
            }
        }, reconcileInterval.toMillis(), reconcileInterval.toMillis(), TimeUnit.MILLISECONDS);
        if (this.transports.values().stream().anyMatch(Transport::polledForInventory)) {
            InventoryPoller poller = new InventoryPoller(servers, this.transports::get, this::open);
            long pollMillis = inventoryPollInterval.toMillis();
            inventoryThread.scheduleWithFixedDelay(() -> {
                try {
                    poller.pass();
                } catch (RuntimeException e) {
                    log.warn("inventory poll failed: {}", e.getMessage());
                }
            }, pollMillis, pollMillis, TimeUnit.MILLISECONDS);
        }
        long checkMillis = liveness.checkEvery().toMillis();
        livenessTimer.scheduleWithFixedDelay(this::checkLiveness, checkMillis, checkMillis, TimeUnit.MILLISECONDS);
    }

    /** Writes the contacts noted since the last check, then tells status listeners what changed. */
    private void checkLiveness() {
        try {
            contacts.flush();
            watch.tick(store::servers, clock.instant());
        } catch (RuntimeException e) {
            log.warn("checking server liveness failed: {}", e.getMessage());
        }
    }

    /**
     * Picks up unfinished deployments that no controller is working on: at construction, those a
     * previous controller left (a restart), and, on a store several controllers share, periodically
     * those whose owner's lease ran out (a controller died). Steps that were in flight are sent again
     * with the same keys, which the agent's journal answers without running them twice.
     */
    private synchronized void adoptUnfinished() {
        for (DeploymentRecord record : store.deployments()) {
            if (record.status().isTerminal() || live.containsKey(record.id()) || !store.acquire(record.id())) {
                continue;
            }
            try {
                log.info("resuming deployment {} ({})", record.id(), record.status());
                load(record.id()).continueAfterRestart();
            } catch (RuntimeException e) {
                log.error("cannot resume deployment {}: {}", record.id(), e.getMessage(), e);
            }
        }
    }

    /** A run of stored deployment {@code id} that can dispatch, made this engine's live run of it. Call while owning it. */
    private DeploymentRun load(String id) {
        // read again: the previous owner may have written more before its lease ran out
        DeploymentRecord record = store.deployment(id).orElseThrow(() -> new NotFoundException("deployment", id));
        List<String> servers = store.tasks(id).stream().map(NodeTask::serverId).toList();
        Map<String, NodeGoal> goals = planner.goalsFor(record.plan(), servers);
        boolean canary = record.plan().canary().roundUp(servers.size()) > 0;
        DeploymentRun run = new DeploymentRun(this, record, new LinkedHashMap<>(goals), canary);
        live.put(id, run);
        return run;
    }

    @Override
    public synchronized DeployKit closeOnShutdown() {
        if (shutdownHook == null) {
            shutdownHook = new Thread(() -> {
                log.info("the JVM is shutting down: releasing running deployments");
                close();
            }, "deploykit-shutdown");
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        }
        return this;
    }

    boolean isClosed() {
        return closed;
    }

    /** True when {@code run} is this engine's live run of its deployment (not a handle on one running elsewhere). */
    boolean isLive(DeploymentRun run) {
        return live.get(run.id()) == run;
    }

    /**
     * Carries out {@code action} on deployment {@code id} from a handle that is not its live run
     * here: when this controller can own it (nobody else runs it, or it has finished), on a run
     * loaded here; else by asking its owner through the store, and waiting for the answer.
     */
    void control(String id, Controls.Action action) {
        DeploymentRun run;
        synchronized (this) {
            run = live.get(id);
            if (run == null && store.acquire(id)) {
                DeploymentRecord record = store.deployment(id).orElseThrow(() -> new NotFoundException("deployment", id));
                run = load(id);
                if (!record.status().isTerminal()) {
                    log.info("taking over deployment {} ({}) to {} it", id, record.status(), action);
                    run.continueAfterRestart();
                }
            }
        }
        if (run != null) {
            run.apply(action);
            return;
        }
        Controls controls = store.controls().orElseThrow(() -> new ConflictException("deployment", id,
                "deployment " + id + " is owned by another controller, and this store cannot carry control requests to it"));
        long request = controls.submit(id, action);
        Optional<String> outcome = controls.outcome(request, CONTROL_ANSWER);
        if (outcome.isEmpty()) {
            throw new ConflictException("deployment", id, "the controller that owns deployment " + id + " did not answer a "
                    + action + " request within " + CONTROL_ANSWER.toSeconds() + " s");
        }
        if (!outcome.get().isEmpty()) {
            throw new ConflictException("deployment", id, outcome.get());
        }
    }

    private static final java.time.Duration CONTROL_ANSWER = java.time.Duration.ofSeconds(30);

    /** Carries out control requests other controllers sent for the deployments this one runs. */
    private void serveControls(Controls controls) {
        while (!closed) {
            try {
                if (live.isEmpty()) {
                    Thread.sleep(200);
                    continue;
                }
                for (Controls.Request r : controls.open(List.copyOf(live.keySet()), java.time.Duration.ofSeconds(1))) {
                    DeploymentRun run = live.get(r.deploymentId());
                    if (run == null) {
                        continue; // not ours any more: its new owner answers
                    }
                    String error = null;
                    try {
                        run.apply(r.action());
                        log.info("deployment {}: {} done, as {} asked", r.deploymentId(), r.action(), r.requestedBy());
                    } catch (DeployException e) {
                        error = e.getMessage();
                    }
                    controls.complete(r.id(), error);
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
                log.warn("serving control requests failed: {}", e.getMessage());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Another controller took {@code run}'s deployment over: forget it here. */
    void lost(DeploymentRun run) {
        live.remove(run.id(), run);
    }

    private static Path tempDir() {
        try {
            return Files.createTempDirectory("deploykit-artifacts-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary artifact directory; set artifactDir()", e);
        }
    }

    @Override
    public Servers servers() {
        return servers;
    }

    @Override
    public Groups groups() {
        return groups;
    }

    @Override
    public Packages packages() {
        return packages;
    }

    @Override
    public Sources sources() {
        return sources;
    }

    @Override
    public ScriptSets scriptSets() {
        return scriptSets;
    }

    @Override
    public DesiredState desired() {
        return desired;
    }

    @Override
    public List<NodePreview> preview(DeployPlan plan, PreviewOptions options) {
        Planner.Resolved resolved = planner.resolve(plan);
        return new Previewer(clock.instant(), liveness, this::queryInstalled, (name, version) -> store.findPackage(name, version).isPresent(),
                sourceChanges).preview(plan, resolved, store::server,
                java.util.Objects.requireNonNull(options, "options"));
    }

    /** The installed version of {@code packageName} read from the node now; nothing is stored. */
    private String queryInstalled(Server server, String packageName, String formatName) {
        try (NodeSession session = open(server)) {
            NodeContext ctx = new NodeContext(session.facts(), session.root(), null);
            return NodeWork.query(session, format(formatName), ctx, packageName, "preview-" + UUID.randomUUID());
        }
    }

    @Override
    public Deployment start(DeployPlan plan) {
        Planner.Resolved resolved = planner.resolve(plan);
        String id = "d-" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        var now = clock.instant();
        DeploymentRecord record = new DeploymentRecord(id, plan, resolved.batches(), DeploymentStatus.PLANNED, now, now);
        List<NodeTask> tasks = new ArrayList<>();
        for (int b = 0; b < resolved.batches().size(); b++) {
            for (String serverId : resolved.batches().get(b)) {
                tasks.add(new NodeTask(id, id + "-" + serverId, serverId, b, NodeStatus.PENDING, "", null,
                        resolved.goals().get(serverId).targetVersion(), false, "", 1, now));
            }
        }
        DeployEvent first = new DeployEvent.DeploymentStatusChanged(id, 1, now, DeploymentStatus.PLANNED,
                tasks.size() + " nodes in " + resolved.batches().size() + " batches");
        DeploymentRun run;
        // Under the lock adoptUnfinished holds: between the store write and live.put, the takeover
        // check would see an unfinished deployment this controller owns but does not run, and run it too.
        synchronized (this) {
            store.createDeployment(record, tasks, first);
            run = new DeploymentRun(this, record, new LinkedHashMap<>(resolved.goals()), resolved.canary());
            live.put(id, run);
        }
        log.info("deployment {} planned: {} nodes in {} batches", id, tasks.size(), resolved.batches().size());
        run.launch();
        return run;
    }

    @Override
    public Optional<Deployment> deployment(String id) {
        DeploymentRun run = live.get(id);
        if (run != null) {
            return Optional.of(run);
        }
        return store.deployment(id).map(r -> new DeploymentRun(this, r, Map.of(), false));
    }

    @Override
    public List<Deployment> deployments() {
        return store.deployments().stream().map(r -> deployment(r.id()).orElseThrow()).toList();
    }

    Transport transport(String scheme) {
        Transport t = transports.get(scheme);
        if (t == null) {
            throw new ConflictException("transport", scheme, "no transport registered for scheme '" + scheme + "'");
        }
        return t;
    }

    /**
     * A session to {@code server}: through its transport, or, when another controller holds the
     * node's connection, through the store's relay to that controller.
     */
    NodeSession open(Server server) {
        Transport t = transport(server.binding().scheme());
        Optional<Relay> relay = store.relay();
        if (relay.isPresent() && !t.reaches(server)) {
            return new RelaySession(relay.get(), server);
        }
        return new ContactSession(t.open(server), server.id(), clock, contacts::seen);
    }

    PackageFormat format(String name) {
        PackageFormat f = formats.get(name);
        if (f == null) {
            throw new ConflictException("package format", name, "no package format registered named '" + name + "'");
        }
        return f;
    }

    Planner planner() {
        return planner;
    }

    ServerRegistry registry() {
        return servers;
    }

    /** Contacts {@code server}: facts plus the installed version of every known package name. */
    private Server probe(Server server) {
        try (NodeSession session = open(server)) {
            var facts = session.facts();
            NodeContext ctx = new NodeContext(facts, session.root(), null);
            Map<String, String> inventory = new HashMap<>();
            for (String name : store.packageNames()) {
                PackageFormat format = format(store.packageVersions(name).get(0).format());
                String version = NodeWork.query(session, format, ctx, name, "refresh-" + UUID.randomUUID());
                if (version != null) {
                    inventory.put(name, version);
                }
            }
            return new Server(server.id(), server.hostname(), server.addresses(), server.labels(), server.binding(),
                    facts, inventory, clock.instant(), server.cordoned());
        }
    }

    @Override
    public void close() {
        // Running deployments are left unfinished in the store, not cancelled: a DeployKit built on the
        // same store resumes them (a persistent store makes that a controller restart).
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        Thread hook = shutdownHook;
        if (hook != null && Thread.currentThread() != hook) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down already: the hook runs close() too, and finds it done
            }
        }
        if (controlThread != null) {
            controlThread.interrupt();
        }
        takeover.shutdownNow();
        livenessTimer.shutdownNow();
        reconcileThread.shutdownNow();
        inventoryThread.shutdownNow();
        reconciler.close();
        if (relayWorker != null) {
            relayWorker.stop();
        }
        for (DeploymentRun run : live.values()) {
            if (run.detach()) {
                try {
                    store.release(run.id());
                } catch (RuntimeException e) {
                    log.warn("cannot release deployment {}: {}", run.id(), e.getMessage());
                }
            }
        }
        runThreads.shutdownNow();
        nodeThreads.shutdownNow();
        try {
            contacts.flush();
        } catch (RuntimeException e) {
            log.warn("cannot record the last contacts with {} servers: {}", contacts.pending(), e.getMessage());
        }
        transports.values().forEach(t -> {
            try {
                t.close();
            } catch (Exception e) {
                log.warn("closing transport {} failed", t.scheme(), e);
            }
        });
        try {
            store.close();
        } catch (Exception e) {
            log.warn("closing store failed", e);
        }
    }
}
