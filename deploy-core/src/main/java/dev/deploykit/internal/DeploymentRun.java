package dev.deploykit.internal;

import dev.deploykit.Action;
import dev.deploykit.Artifact;
import dev.deploykit.ConflictException;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.DispatchWindow;
import dev.deploykit.LeaseLostException;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.PlanValidationException;
import dev.deploykit.spi.ArtifactDelivery;
import dev.deploykit.spi.Controls;
import dev.deploykit.spi.DeploymentRecord;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.support.DaemonThreads;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * One deployment: the {@link Deployment} handle and the coordinator that runs its batches. The
 * rollout rules (failure budget, canary halt, dispatch gate, rollback set, how the run ends) and
 * their reason texts are {@link RolloutState}'s; this class runs the threads, waits, and records
 * what the rules decide. All mutable state is guarded by {@link #lock}; every change is appended to
 * the store as an event under that lock, which gives events their gap-free sequence and listeners
 * their order. Status changes follow {@link DeploymentStatus#canMoveTo}.
 */
final class DeploymentRun implements Deployment, NodeWork.Reporter {
    private static final Logger log = LoggerFactory.getLogger(DeploymentRun.class);

    private final Engine engine;
    private final DeploymentRecord record;
    private final DeployPlan plan;
    private final Map<String, NodeGoal> goals;
    private final NodeWork work;

    final Object lock = new Object();
    private long seq;
    private DeploymentStatus status;
    private final Map<String, NodeTask> tasks = new LinkedHashMap<>();
    private final List<Consumer<DeployEvent>> listeners = new ArrayList<>();
    private final Set<Thread> nodeThreads = new HashSet<>();
    /** Guarded by {@link #lock}: the open session of each node task in flight. */
    private final Map<String, NodeSession> sessions = new HashMap<>();
    private boolean active;
    private boolean pauseRequested;
    private volatile boolean cancelRequested;
    /** The controller is shutting down: stop, record nothing more, leave the rest to the next controller. */
    private volatile boolean detached;
    /** Failures, halt and the rules; guarded by {@link #lock} (it is not thread-safe itself). */
    private final RolloutState rollout;
    private int inFlight;

    /** A run over a stored deployment; {@code goals} is empty for a handle that cannot run. */
    DeploymentRun(Engine engine, DeploymentRecord record, Map<String, NodeGoal> goals, boolean canary) {
        this.engine = engine;
        this.record = record;
        this.plan = record.plan();
        this.goals = goals;
        this.status = record.status();
        engine.store.tasks(record.id()).forEach(t -> tasks.put(t.serverId(), t));
        this.rollout = new RolloutState(RolloutState.Rules.of(plan, canary, tasks.size()));
        List<DeployEvent> events = engine.store.events(record.id(), 0);
        this.seq = events.isEmpty() ? 0 : events.get(events.size() - 1).seq();
        this.work = new NodeWork(engine, plan, this);
    }

    void launch() {
        synchronized (lock) {
            active = true;
        }
        engine.runThreads.submit(this::coordinate);
    }

    /**
     * Continues a deployment loaded from the store after a controller restart: tasks that were in
     * flight go back to PENDING (their steps are re-sent with the same keys), the failure count and a
     * breached budget are restored, and a paused deployment stays paused.
     */
    void continueAfterRestart() {
        synchronized (lock) {
            pauseRequested = status == DeploymentStatus.PAUSED;
            for (NodeTask t : List.copyOf(tasks.values())) {
                if (RolloutState.resentAfterRestart(t)) {
                    update(t.with(NodeStatus.PENDING, t.step(), RolloutState.RESENT_AFTER_RESTART, engine.clock.instant()));
                }
            }
            rollout.restoreFrom(List.copyOf(tasks.values()));
        }
        launch();
    }

    private void coordinate() {
        MDC.put("deployment", record.id());
        try {
            if (!pauseRequested) {
                transition(RolloutState.STARTED);
            }
            List<List<String>> batches = record.batches();
            // a halt restored after a restart dispatches nothing forward, whatever the failure mode:
            // FINISH_BATCH's "rest of the batch" ended with the controller that was running it
            boolean restoredHalt;
            synchronized (lock) {
                restoredHalt = rollout.halted();
            }
            for (int b = 0; b < batches.size() && !restoredHalt; b++) {
                List<NodeTask> todo = pendingIn(b);
                if (todo.isEmpty()) {
                    continue;
                }
                if (!awaitWindow() || !awaitDispatchAllowed()) {
                    break;
                }
                todo = pendingIn(b);
                int batch = b;
                boolean isCanary;
                synchronized (lock) {
                    isCanary = rollout.isCanary(b);
                }
                emit(s -> new DeployEvent.BatchStarted(record.id(), s, engine.clock.instant(), batch, isCanary, batches.get(batch)), null, null);
                runNodes(todo, false);
                List<NodeTask> done = tasksIn(b);
                int failed = count(done, NodeStatus.FAILED);
                emit(s -> new DeployEvent.BatchFinished(record.id(), s, engine.clock.instant(), batch,
                        count(done, NodeStatus.SUCCEEDED), failed, count(done, NodeStatus.SKIPPED)), null, null);
                Optional<RolloutState.StatusChange> promotion;
                synchronized (lock) {
                    boolean goOn = rollout.batchEnded(b, done);
                    if (cancelRequested || !goOn) {
                        break;
                    }
                    promotion = rollout.promotionPause(b, batches.size());
                }
                if (promotion.isPresent()) {
                    requestPause(promotion.get());
                } else if (b < batches.size() - 1 && !plan.pauseBetweenBatches().isZero()) {
                    waitBetweenBatches(plan.pauseBetweenBatches());
                }
            }
            finish();
        } catch (RuntimeException | Error e) {
            log.error("deployment {} stopped by an internal error", record.id(), e);
            try {
                markNotDispatched(RolloutState.STOPPED_BEFORE_DISPATCH);
                transition(RolloutState.internalError(e));
            } catch (RuntimeException again) {
                log.error("deployment {}: cannot record the failure", record.id(), again);
            }
        } finally {
            synchronized (lock) {
                active = false;
                lock.notifyAll();
            }
            MDC.remove("deployment");
        }
    }

    private void finish() {
        if (detached) {
            return;
        }
        RolloutState.Ending ending;
        synchronized (lock) {
            ending = rollout.ending(cancelRequested, snapshot());
        }
        ending.notDispatched().ifPresent(this::markNotDispatched);
        if (ending instanceof RolloutState.RollBack rollBack) {
            transition(rollBack.start());
            runNodes(rollBack.nodes(), true);
            RolloutState.StatusChange end;
            synchronized (lock) {
                end = rollout.afterRollback(rollBack.nodes(), snapshot());
            }
            transition(end);
        } else {
            transition(((RolloutState.Finish) ending).status());
        }
    }

    /** Runs {@code todo} with at most the plan's concurrency in flight; returns when all ended. */
    private void runNodes(List<NodeTask> todo, boolean rollback) {
        int limit = plan.concurrency() > 0 ? plan.concurrency() : Math.max(1, todo.size());
        List<Future<?>> futures = new ArrayList<>();
        for (NodeTask task : todo) {
            if (!awaitSlot(limit, rollback)) {
                break;
            }
            NodeTask dispatched = update(task.with(rollback ? NodeStatus.RUNNING : NodeStatus.DISPATCHED,
                    rollback ? "rollback" : "", task.message(), engine.clock.instant()));
            NodeGoal goal = rollback ? rollbackGoal(dispatched) : goals.get(task.serverId());
            futures.add(engine.nodeThreads.submit(() -> runNode(dispatched, goal, rollback)));
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                log.error("node thread failed", e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private NodeGoal rollbackGoal(NodeTask task) {
        Action.Install install = (Action.Install) plan.action();
        String format = engine.store.findPackage(install.packageName(), install.version()).orElseThrow().format();
        try {
            return engine.planner().rollbackGoal(task, install.packageName(), format);
        } catch (PlanValidationException e) {
            return new NodeGoal.NoGoal(e.getMessage());
        }
    }

    private void runNode(NodeTask task, NodeGoal goal, boolean rollback) {
        Thread me = Thread.currentThread();
        synchronized (lock) {
            nodeThreads.add(me);
        }
        MDC.put("deployment", record.id());
        try {
            NodeTask end;
            if (goal instanceof NodeGoal.NoGoal none && rollback) {
                end = update(task.with(NodeStatus.FAILED, task.step(), RolloutState.rollbackImpossible(none.reason()), engine.clock.instant()));
            } else if (goal == null || engine.store.server(task.serverId()).isEmpty()) {
                end = update(task.with(NodeStatus.FAILED, task.step(), RolloutState.serverRemoved(task.serverId()), engine.clock.instant()));
            } else {
                try {
                    end = work.run(task, goal, rollback);
                } catch (RuntimeException e) {
                    // a bug or a node answer nothing expected: this node fails, counted like any failure, never left running
                    log.error("node {} failed unexpectedly", task.serverId(), e);
                    NodeTask last;
                    synchronized (lock) {
                        last = tasks.getOrDefault(task.serverId(), task);
                    }
                    end = update(last.with(NodeStatus.FAILED, last.step(), "failed unexpectedly in step " + last.step() + ": " + e,
                            engine.clock.instant()));
                }
            }
            synchronized (lock) {
                rollout.nodeEnded(end, rollback);
            }
        } finally {
            synchronized (lock) {
                nodeThreads.remove(me);
                inFlight--;
                lock.notifyAll();
            }
            Thread.interrupted();
            MDC.remove("deployment");
        }
    }

    /** Waits until a node may be dispatched; false when dispatch must stop. */
    private boolean awaitSlot(int limit, boolean rollback) {
        synchronized (lock) {
            while (!cancelRequested && (pauseRequested && !rollback || inFlight >= limit)) {
                waitOnLock(0);
            }
            if (cancelRequested || !rollout.mayDispatch(rollback)) {
                return false;
            }
            inFlight++;
            return true;
        }
    }

    private boolean awaitDispatchAllowed() {
        synchronized (lock) {
            while (pauseRequested && !cancelRequested) {
                waitOnLock(0);
            }
            return !cancelRequested;
        }
    }

    /**
     * Waits, before a batch, until the plan's dispatch window is open: every pending node says why
     * and until when (one status change each), the wait ends early on cancel. False when cancelled.
     */
    private boolean awaitWindow() {
        DispatchWindow window = plan.window();
        Instant now = engine.clock.instant();
        if (window.isOpen(now)) {
            return true;
        }
        String why = RolloutState.waitingForWindow(window, window.nextOpen(now));
        log.info("deployment {}: {}", record.id(), why);
        for (NodeTask t : snapshot()) {
            if (t.status() == NodeStatus.PENDING) {
                update(t.with(NodeStatus.PENDING, "window", why, now));
            }
        }
        synchronized (lock) {
            Instant at;
            while (!cancelRequested && !window.isOpen(at = engine.clock.instant())) {
                // at most a second at a time: the clock may be moved (tests) and a cancel wakes us anyway
                waitOnLock(Math.max(1, Math.min(1000, Duration.between(at, window.nextOpen(at)).toMillis())));
            }
            return !cancelRequested;
        }
    }

    private void waitBetweenBatches(Duration pause) {
        long deadline = System.nanoTime() + pause.toNanos();
        synchronized (lock) {
            long left;
            while (!cancelRequested && (left = deadline - System.nanoTime()) > 0) {
                waitOnLock(Math.max(1, left / 1_000_000));
            }
        }
    }

    private void waitOnLock(long millis) {
        try {
            lock.wait(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cancelRequested = true;
        }
    }

    private void markNotDispatched(String why) {
        for (NodeTask t : snapshot()) {
            if (t.status() == NodeStatus.PENDING || t.status() == NodeStatus.DISPATCHED) {
                update(t.with(NodeStatus.CANCELLED, t.step(), why, engine.clock.instant()));
            }
        }
    }

    private void requestPause(RolloutState.StatusChange pause) {
        synchronized (lock) {
            if (!cancelRequested) {
                pauseRequested = true;
                transition(pause);
            }
        }
    }

    /**
     * Records the status change; refuses a move {@link DeploymentStatus#canMoveTo} does not allow
     * rather than writing it into the log. A detached run records nothing, so it checks nothing.
     */
    private void transition(RolloutState.StatusChange change) {
        DeploymentStatus to = change.to();
        String reason = change.reason();
        synchronized (lock) {
            if (!detached && !status.canMoveTo(to)) {
                throw new IllegalStateException("deployment " + record.id() + " cannot move from " + status + " to " + to
                        + (reason.isEmpty() ? "" : " (" + reason + ")"));
            }
            log.info("deployment {} {}{}", record.id(), to, reason.isEmpty() ? "" : ": " + reason);
            emit(s -> new DeployEvent.DeploymentStatusChanged(record.id(), s, engine.clock.instant(), to, reason), null, to);
        }
    }

    /** Appends the event (with the task and status change) to the store, then tells listeners. */
    private void emit(LongFunction<DeployEvent> make, NodeTask task, DeploymentStatus newStatus) {
        synchronized (lock) {
            if (detached) {
                // what a stopping controller's interrupted work would say is not true of the nodes
                return;
            }
            DeployEvent event = make.apply(seq + 1);
            if (event instanceof DeployEvent.NodeOutput && status.isTerminal() && !active) {
                // a process that outlived its step printed after the deployment ended: not part of it
                return;
            }
            try {
                engine.store.append(event, task, newStatus);
            } catch (LeaseLostException e) {
                // another controller owns the deployment now: stop here, record nothing more
                log.warn("deployment {}: {}; stopping here", record.id(), e.getMessage());
                detach();
                engine.lost(this);
                // whoever listens here keeps hearing what the new owner does
                listeners.forEach(l -> follow(l, seq, new AtomicBoolean()));
                listeners.clear();
                return;
            }
            seq = event.seq();
            if (task != null) {
                tasks.put(task.serverId(), task);
            }
            if (newStatus != null) {
                status = newStatus;
            }
            for (Consumer<DeployEvent> l : List.copyOf(listeners)) {
                try {
                    l.accept(event);
                } catch (RuntimeException e) {
                    log.warn("event listener failed on {}", event, e);
                }
            }
            lock.notifyAll();
        }
    }

    @Override
    public NodeTask update(NodeTask task) {
        emit(s -> new DeployEvent.NodeStatusChanged(record.id(), s, task.updatedAt(), task.serverId(), task.taskId(),
                task.status(), task.step(), task.message()), task, null);
        return task;
    }

    @Override
    public void output(NodeTask task, String stream, String line) {
        emit(s -> new DeployEvent.NodeOutput(record.id(), s, engine.clock.instant(), task.serverId(), task.taskId(),
                task.step(), stream, line), null, null);
    }

    @Override
    public void delivered(NodeTask task, Artifact artifact, ArtifactDelivery delivery) {
        emit(s -> new DeployEvent.ArtifactFetched(record.id(), s, engine.clock.instant(), task.serverId(), task.taskId(),
                artifact.sha256(), artifact.size(), delivery.relay(), delivery.controllerBytes(), delivery.relayBytes()), null, null);
    }

    @Override
    public boolean cancelled() {
        return cancelRequested;
    }

    @Override
    public void session(NodeTask task, NodeSession session) {
        synchronized (lock) {
            if (session == null) {
                sessions.remove(task.taskId());
            } else {
                sessions.put(task.taskId(), session);
            }
        }
    }

    private List<NodeTask> snapshot() {
        synchronized (lock) {
            return List.copyOf(tasks.values());
        }
    }

    private List<NodeTask> tasksIn(int batch) {
        return snapshot().stream().filter(t -> t.batch() == batch).toList();
    }

    private List<NodeTask> pendingIn(int batch) {
        return tasksIn(batch).stream().filter(t -> t.status() == NodeStatus.PENDING).toList();
    }

    private static int count(List<NodeTask> tasks, NodeStatus status) {
        return (int) tasks.stream().filter(t -> t.status() == status).count();
    }

    // ---- Deployment handle ----

    @Override
    public String id() {
        return record.id();
    }

    @Override
    public DeployPlan plan() {
        return plan;
    }

    /** The status: this run's own while it is the live run here, else the stored one (a handle follows the store). */
    @Override
    public DeploymentStatus status() {
        if (!engine.isLive(this)) {
            return engine.store.deployment(record.id()).map(DeploymentRecord::status).orElseGet(this::ownStatus);
        }
        return ownStatus();
    }

    private DeploymentStatus ownStatus() {
        synchronized (lock) {
            return status;
        }
    }

    @Override
    public List<NodeTask> tasks() {
        return engine.store.tasks(record.id());
    }

    @Override
    public List<List<String>> batches() {
        return record.batches();
    }

    @Override
    public List<DeployEvent> events() {
        return engine.store.events(record.id(), 0);
    }

    /** Events after {@code afterSeq}, waiting up to {@code millis} for one; empty when finished. */
    List<DeployEvent> eventsAfter(long afterSeq, long millis) {
        synchronized (lock) {
            if (seq <= afterSeq && !finished()) {
                waitOnLockQuietly(millis);
            }
        }
        return engine.store.events(record.id(), afterSeq);
    }

    boolean finished() {
        if (!engine.isLive(this)) {
            return status().isTerminal();
        }
        synchronized (lock) {
            return status.isTerminal() && !active;
        }
    }

    private void waitOnLockQuietly(long millis) {
        try {
            lock.wait(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public AutoCloseable onEvent(Consumer<DeployEvent> listener) {
        if (!engine.isLive(this)) {
            AtomicBoolean stop = new AtomicBoolean();
            follow(listener, 0, stop);
            return () -> stop.set(true);
        }
        synchronized (lock) {
            engine.store.events(record.id(), 0).forEach(listener);
            listeners.add(listener);
        }
        return () -> {
            synchronized (lock) {
                listeners.remove(listener);
            }
        };
    }

    /** How often a handle that is not the live run reads the store. */
    private static final long FOLLOW_MILLIS = 200;

    /**
     * Delivers the stored events after {@code after} to {@code listener}, reading the store until the
     * deployment has ended and every event was delivered, or {@code stop} is set: how a handle follows a
     * deployment that another controller runs, across takeovers.
     */
    private void follow(Consumer<DeployEvent> listener, long after, AtomicBoolean stop) {
        DaemonThreads.start("deploykit-follow-" + record.id(), () -> {
            long seen = after;
            try {
                while (!stop.get() && !engine.isClosed()) {
                    // terminal first: the terminal event is stored with the status, so it is read below
                    boolean ended = status().isTerminal();
                    List<DeployEvent> next = engine.store.events(record.id(), seen);
                    for (DeployEvent e : next) {
                        listener.accept(e);
                        seen = e.seq();
                    }
                    if (ended && next.isEmpty()) {
                        return;
                    }
                    Thread.sleep(FOLLOW_MILLIS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                if (!engine.isClosed()) {
                    log.warn("following deployment {} stopped: {}", record.id(), e.getMessage());
                }
            }
        });
    }

    @Override
    public Flow.Publisher<DeployEvent> publisher() {
        return new EventPublisher(this, engine.runThreads);
    }

    @Override
    public DeploymentStatus await(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        if (!engine.isLive(this)) {
            // a handle on a deployment running elsewhere (or nowhere yet) follows the store
            DeploymentStatus now;
            long left;
            while (!(now = status()).isTerminal() && (left = deadline - System.nanoTime()) > 0) {
                Thread.sleep(Math.max(1, Math.min(FOLLOW_MILLIS, left / 1_000_000)));
            }
            return now;
        }
        synchronized (lock) {
            long left;
            while (!finished() && (left = deadline - System.nanoTime()) > 0) {
                lock.wait(Math.max(1, left / 1_000_000));
            }
            return status;
        }
    }

    /** Carries out a control action on this, the live run of its deployment here. */
    void apply(Controls.Action action) {
        switch (action) {
            case PAUSE -> pause();
            case RESUME -> resume();
            case CANCEL -> cancel();
            case RETRY_FAILED -> retryFailed();
            default -> throw new IllegalArgumentException("unknown control action " + action);
        }
    }

    @Override
    public void pause() {
        if (!engine.isLive(this)) {
            engine.control(record.id(), Controls.Action.PAUSE);
            return;
        }
        synchronized (lock) {
            requireActive("pause");
            if (!pauseRequested && !cancelRequested) {
                pauseRequested = true;
                transition(RolloutState.PAUSED_BY_USER);
            }
        }
    }

    @Override
    public void resume() {
        if (!engine.isLive(this)) {
            engine.control(record.id(), Controls.Action.RESUME);
            return;
        }
        synchronized (lock) {
            requireActive("resume");
            if (pauseRequested) {
                pauseRequested = false;
                transition(RolloutState.RESUMED);
            }
        }
    }

    @Override
    public void cancel() {
        if (!engine.isLive(this)) {
            engine.control(record.id(), Controls.Action.CANCEL);
            return;
        }
        synchronized (lock) {
            if (!active || cancelRequested) {
                return;
            }
            cancelRequested = true;
            nodeThreads.forEach(Thread::interrupt);
            lock.notifyAll();
        }
    }

    /**
     * Stops this run because the controller is closing, without recording a cancellation: tasks stay
     * as stored (in flight ones included), so a controller built later on the same store resumes
     * the deployment. True when the run was active (the deployment is left unfinished).
     */
    boolean detach() {
        synchronized (lock) {
            if (!active) {
                return false;
            }
            detached = true;
            cancelRequested = true;
            // what is running on the nodes belongs to the next owner, which re-sends it under the same
            // keys: stop waiting for it, but never cancel it
            sessions.values().forEach(NodeSession::abandon);
            nodeThreads.forEach(Thread::interrupt);
            lock.notifyAll();
            return true;
        }
    }

    @Override
    public void retryFailed() {
        if (!engine.isLive(this)) {
            engine.control(record.id(), Controls.Action.RETRY_FAILED);
            return;
        }
        synchronized (lock) {
            if (active) {
                throw new ConflictException("deployment", record.id(), "deployment " + record.id() + " is still running");
            }
            if (goals.isEmpty()) {
                throw new ConflictException("deployment", record.id(), "deployment " + record.id() + " is not loaded for running in this DeployKit");
            }
            if (!RolloutState.retryable(status)) {
                throw new ConflictException("deployment", record.id(), "only a FAILED or SUCCEEDED deployment can retry failed nodes, but "
                        + record.id() + " is " + status);
            }
            if (!engine.store.acquire(record.id())) {
                throw new ConflictException("deployment", record.id(), "deployment " + record.id() + " is owned by another controller");
            }
            List<NodeTask> failed = RolloutState.retrySet(tasks.values());
            if (failed.isEmpty()) {
                throw new ConflictException("deployment", record.id(), "deployment " + record.id() + " has no failed node tasks");
            }
            failed.forEach(t -> update(t.nextAttempt(engine.clock.instant())));
            rollout.retried();
            // a pause that outlived the last attempt (asked for while its last batch ran) is over: a
            // retry is a new start
            pauseRequested = false;
            launch();
        }
    }

    private void requireActive(String what) {
        if (!active) {
            throw new ConflictException("deployment", record.id(), "cannot " + what + " deployment " + record.id() + ": it is " + status);
        }
    }

    @Override
    public String toString() {
        return "Deployment[" + record.id() + ", " + status() + "]";
    }
}
