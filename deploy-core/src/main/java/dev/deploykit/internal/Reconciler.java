package dev.deploykit.internal;

import dev.deploykit.Action;
import dev.deploykit.ConvergenceFailure;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployException;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.Pin;
import dev.deploykit.ReconcileDecision;
import dev.deploykit.ReconcileDecision.Kind;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.Target;
import dev.deploykit.spi.DeploymentRecord;
import dev.deploykit.spi.Store;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Converges servers to their pins: each pass compares every pin this controller holds the lease of
 * with the inventory of its group's servers and starts one ordinary deployment (through
 * {@link Engine#start}) per pin for the servers that differ, with the pin's strategy. The rules and
 * texts are {@link Convergence}'s; this class reads the store, takes leases, starts deployments,
 * reads their outcomes and keeps the decision log.
 *
 * <p>Thread-safe: passes run one at a time under {@link #lock}, from the engine's reconcile thread
 * or a {@code reconcileNow()} caller. Failure counts live in this controller's memory: a controller
 * that takes a pin over starts them at zero. {@link #close} releases the pin leases it holds.
 */
final class Reconciler {
    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    private static final int LOG_SIZE = 1000;

    private final Engine engine;
    private final Store store;
    private final Clock clock;

    private final Object lock = new Object();
    /** Converging deployments this controller started, by pin key, until their outcome is read. */
    // @GuardedBy("lock")
    private final Map<String, String> started = new HashMap<>();
    /** Consecutive failures by pin key and server id ("web/app n01"). */
    // @GuardedBy("lock")
    private final Map<String, Convergence.Failure> failures = new TreeMap<>();
    /**
     * The version each server was last seen converged at, by pin key and server id: a difference from
     * the same pinned version is then drift (from another version, it is the pin that moved).
     */
    // @GuardedBy("lock")
    private final Map<String, String> converged = new HashMap<>();
    /** The last message recorded per pin key and server id, so that a standing state is logged once. */
    // @GuardedBy("lock")
    private final Map<String, String> lastMessage = new HashMap<>();
    /** Pin keys whose lease this controller holds. */
    // @GuardedBy("lock")
    private final Set<String> leased = new HashSet<>();
    // @GuardedBy("decisions")
    private final ArrayDeque<ReconcileDecision> decisions = new ArrayDeque<>();
    private final List<Consumer<ReconcileDecision>> listeners = new CopyOnWriteArrayList<>();

    Reconciler(Engine engine, Store store, Clock clock) {
        this.engine = engine;
        this.store = store;
        this.clock = clock;
    }

    static String leaseName(String pinKey) {
        return "pin:" + pinKey;
    }

    /** One reconcile pass over every pin; returns the decisions it recorded. */
    List<ReconcileDecision> pass() {
        synchronized (lock) {
            List<ReconcileDecision> out = new ArrayList<>();
            if (engine.isClosed()) {
                return out;
            }
            List<Pin> pins = store.pins();
            forgetUnpinned(pins);
            if (pins.isEmpty()) {
                return out;
            }
            Map<String, ServerGroup> groups = store.groups().stream().collect(Collectors.toMap(ServerGroup::name, Function.identity()));
            List<Server> servers = store.servers();
            Set<String> held = store.heldServers();
            List<DeploymentRecord> deployments = null;
            for (Pin pin : pins) {
                if (!store.acquireLease(leaseName(pin.key()))) {
                    leased.remove(pin.key());
                    continue; // another controller reconciles this pin
                }
                leased.add(pin.key());
                Instant now = clock.instant();
                readOutcome(pin, now, out);
                if (deployments == null) {
                    deployments = store.deployments();
                }
                Optional<DeploymentRecord> running = deployments.stream().filter(d -> Convergence.isConverging(d, pin.key())).findFirst();
                ServerGroup group = groups.get(pin.group());
                if (group == null) {
                    note(out, new ReconcileDecision(now, Kind.ERROR, pin.key(), "", null, pin.version(), null,
                            "group " + pin.group() + " does not exist: nothing to converge"), true);
                    continue;
                }
                Map<String, ReconcileDecision> repairs = new LinkedHashMap<>();
                for (Server s : servers) {
                    if (!group.contains(s)) {
                        continue;
                    }
                    String k = pin.key() + " " + s.id();
                    Convergence.Verdict v = Convergence.judge(pin, s, held.contains(s.id()), Convergence.conflict(pin, s, pins, groups),
                            failures.get(k), pin.version().equals(converged.get(k)), now);
                    String installed = s.inventory().get(pin.packageName());
                    ReconcileDecision d = new ReconcileDecision(now, v.kind(), pin.key(), s.id(), installed, pin.version(), null, v.message());
                    switch (v.kind()) {
                        case CONVERGED -> {
                            converged.put(k, pin.version());
                            failures.remove(k);
                            note(out, d, true);
                        }
                        case REPAIR -> {
                            if (running.isEmpty()) {
                                repairs.put(s.id(), d);
                            }
                        }
                        default -> {
                            converged.remove(k);
                            note(out, d, true);
                        }
                    }
                }
                if (!repairs.isEmpty()) {
                    startConverging(pin, repairs, now, out);
                }
            }
            return out;
        }
    }

    /** Starts one deployment of {@code pin}'s strategy on the servers of {@code repairs}. */
    private void startConverging(Pin pin, Map<String, ReconcileDecision> repairs, Instant now, List<ReconcileDecision> out) {
        DeployPlan plan = pin.strategy().toBuilder().name(Convergence.planName(pin))
                .action(Action.install(pin.packageName(), pin.version()))
                .target(new Target(false, Set.of(), repairs.keySet(), null, Set.of())).build();
        try {
            Deployment d = engine.start(plan);
            started.put(pin.key(), d.id());
            repairs.forEach((id, r) -> {
                converged.remove(pin.key() + " " + id);
                note(out, new ReconcileDecision(r.at(), r.kind(), r.pin(), id, r.installed(), r.pinned(), d.id(),
                        r.message() + " in deployment " + d.id()), false);
            });
        } catch (DeployException e) {
            note(out, new ReconcileDecision(now, Kind.ERROR, pin.key(), "", null, pin.version(), null,
                    "cannot start converging " + repairs.keySet() + " to " + pin.version() + ": " + e.getMessage()), true);
        }
    }

    /** When the converging deployment this controller started for {@code pin} has ended, records each node's outcome. */
    private void readOutcome(Pin pin, Instant now, List<ReconcileDecision> out) {
        String id = started.get(pin.key());
        if (id == null) {
            return;
        }
        Optional<DeploymentRecord> record = store.deployment(id);
        if (record.isPresent() && !record.get().status().isTerminal()) {
            return;
        }
        started.remove(pin.key());
        if (record.isEmpty()) {
            return;
        }
        // A node that failed and was then rolled back ends ROLLED_BACK: its failure is in the log.
        Map<String, String> failed = new HashMap<>();
        for (DeployEvent e : store.events(id, 0)) {
            if (e instanceof DeployEvent.NodeStatusChanged n && n.status() == NodeStatus.FAILED) {
                failed.put(n.serverId(), n.message());
            }
        }
        String version = record.get().plan().action() instanceof Action.Install i ? i.version() : pin.version();
        for (NodeTask t : store.tasks(id)) {
            String k = pin.key() + " " + t.serverId();
            if (failed.containsKey(t.serverId())) {
                Convergence.Failure f = Convergence.failed(failures.get(k), version, failed.get(t.serverId()), now);
                failures.put(k, f);
                note(out, new ReconcileDecision(now, Kind.FAILED, pin.key(), t.serverId(), null, version, id,
                        Convergence.failedMessage(t.serverId(), f, now)), false);
            } else if (t.status() == NodeStatus.SUCCEEDED || t.status() == NodeStatus.SKIPPED) {
                failures.remove(k);
            }
        }
    }

    /** Drops the state and leases of pins that were removed. */
    private void forgetUnpinned(List<Pin> pins) {
        Set<String> keys = pins.stream().map(Pin::key).collect(Collectors.toSet());
        for (String key : List.copyOf(leased)) {
            if (!keys.contains(key)) {
                leased.remove(key);
                store.releaseLease(leaseName(key));
            }
        }
        started.keySet().retainAll(keys);
        failures.keySet().removeIf(k -> !keys.contains(k.substring(0, k.lastIndexOf(' '))));
    }

    /**
     * Records {@code d}, unless {@code once} and it says what was last said for its pin and server
     * (a held or backing-off server is logged when it becomes so, not on every pass).
     */
    private void note(List<ReconcileDecision> out, ReconcileDecision d, boolean once) {
        String k = d.pin() + " " + d.serverId();
        if (once && d.message().equals(lastMessage.get(k))) {
            return;
        }
        lastMessage.put(k, d.message());
        out.add(d);
        log.info("reconcile {}: {}", d.pin(), d.message());
        synchronized (decisions) {
            decisions.addLast(d);
            while (decisions.size() > LOG_SIZE) {
                decisions.removeFirst();
            }
        }
        for (Consumer<ReconcileDecision> l : listeners) {
            try {
                l.accept(d);
            } catch (RuntimeException e) {
                log.warn("a reconcile decision listener failed on {}: {}", d.message(), e.toString());
            }
        }
    }

    AutoCloseable onDecision(Consumer<ReconcileDecision> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return () -> listeners.remove(listener);
    }

    List<ReconcileDecision> decisions() {
        synchronized (decisions) {
            return List.copyOf(decisions);
        }
    }

    List<ConvergenceFailure> failing() {
        synchronized (lock) {
            List<ConvergenceFailure> result = new ArrayList<>();
            failures.forEach((k, f) -> {
                int space = k.lastIndexOf(' ');
                result.add(new ConvergenceFailure(k.substring(0, space), k.substring(space + 1), f.failures(), f.nextAttempt(),
                        f.lastError()));
            });
            return result;
        }
    }

    /** Gives up this controller's pin leases, so another controller takes the pins over at once. */
    void close() {
        synchronized (lock) {
            for (String key : leased) {
                try {
                    store.releaseLease(leaseName(key));
                } catch (RuntimeException e) {
                    log.warn("cannot release the lease on pin {}: {}", key, e.getMessage());
                }
            }
            leased.clear();
        }
    }
}
