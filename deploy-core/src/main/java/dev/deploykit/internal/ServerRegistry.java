package dev.deploykit.internal;

import dev.deploykit.ConflictException;
import dev.deploykit.InventoryChange;
import dev.deploykit.InventoryReport;
import dev.deploykit.InventorySource;
import dev.deploykit.Liveness;
import dev.deploykit.LivenessOptions;
import dev.deploykit.NodeStatus;
import dev.deploykit.NotFoundException;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.ServerStatusChange;
import dev.deploykit.ServiceChange;
import dev.deploykit.ServiceStatus;
import dev.deploykit.Servers;
import dev.deploykit.spi.DeploymentRecord;
import dev.deploykit.spi.Store;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * Server management. Every read-modify-write of servers and groups runs under {@link #lock} (shared
 * with {@link GroupRegistry}) so that a label change and an inventory update by the engine never
 * overwrite each other.
 */
final class ServerRegistry implements Servers {
    final Object lock = new Object();
    private final Store store;
    private final UnaryOperator<Server> probe;
    private final Clock clock;
    private final LivenessOptions liveness;
    private final ServerWatch watch;
    private final ServiceStates services = new ServiceStates();

    /** {@code probe} contacts a node and returns it with fresh facts and inventory. */
    ServerRegistry(Store store, UnaryOperator<Server> probe, Clock clock, LivenessOptions liveness, ServerWatch watch) {
        this.store = store;
        this.probe = probe;
        this.clock = clock;
        this.liveness = liveness;
        this.watch = watch;
    }

    @Override
    public Server register(Server server) {
        synchronized (lock) {
            if (store.server(server.id()).isPresent()) {
                throw new ConflictException("server", server.id(), "server " + server.id() + " is already registered; use update()");
            }
            store.putServer(server);
            return server;
        }
    }

    @Override
    public Server update(Server server) {
        return modify(server.id(), old -> server.withCordoned(old.cordoned()));
    }

    @Override
    public Server cordon(String serverId) {
        return modify(serverId, s -> s.withCordoned(true));
    }

    @Override
    public Server uncordon(String serverId) {
        return modify(serverId, s -> s.withCordoned(false));
    }

    @Override
    public boolean drain(String serverId, Duration timeout) throws InterruptedException {
        if (timeout == null || timeout.isNegative()) {
            throw new IllegalArgumentException("drain timeout must be zero or more, but was " + timeout);
        }
        cordon(serverId);
        // Wall time, not the kit's clock: the wait is for real node work, which a test clock does not move.
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!runningTasks(serverId).isEmpty()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            Thread.sleep(Math.min(DRAIN_POLL.toMillis(), Math.max(1, left / 1_000_000)));
        }
        return true;
    }

    /** How often {@link #drain} reads the store: node steps last seconds, so 100 ms adds little. */
    private static final Duration DRAIN_POLL = Duration.ofMillis(100);

    /** Ids of the unfinished deployments with a DISPATCHED or RUNNING task on {@code serverId}. */
    List<String> runningTasks(String serverId) {
        List<String> busy = new ArrayList<>();
        for (DeploymentRecord d : store.deployments()) {
            if (!d.status().isTerminal() && store.tasks(d.id()).stream().anyMatch(t -> t.serverId().equals(serverId)
                    && (t.status() == NodeStatus.DISPATCHED || t.status() == NodeStatus.RUNNING))) {
                busy.add(d.id());
            }
        }
        return busy;
    }

    @Override
    public Server label(String serverId, String key, String value) {
        return modify(serverId, s -> s.withLabel(key, value));
    }

    @Override
    public Server unlabel(String serverId, String key) {
        return modify(serverId, s -> {
            Map<String, String> labels = new HashMap<>(s.labels());
            labels.remove(key);
            return s.withLabels(labels);
        });
    }

    /** Applies {@code change} to the stored server atomically with respect to other changes. */
    Server modify(String serverId, UnaryOperator<Server> change) {
        synchronized (lock) {
            Server updated = change.apply(require(serverId));
            store.putServer(updated);
            return updated;
        }
    }

    @Override
    public boolean remove(String serverId, boolean force) {
        synchronized (lock) {
            if (!force) {
                for (DeploymentRecord d : store.deployments()) {
                    if (!d.status().isTerminal() && store.tasks(d.id()).stream().anyMatch(t -> t.serverId().equals(serverId)
                            && !t.status().isTerminal())) {
                        throw new ConflictException("server", serverId, "server " + serverId + " is a target of unfinished deployment "
                                + d.id() + "; cancel it first, or remove(\"" + serverId + "\", true) to fail its task there");
                    }
                }
            }
            for (ServerGroup g : store.groups()) {
                if (g.members().contains(serverId)) {
                    Set<String> members = new HashSet<>(g.members());
                    members.remove(serverId);
                    store.putGroup(g.withMembers(members));
                }
            }
            return store.removeServer(serverId);
        }
    }

    @Override
    public Optional<Server> get(String serverId) {
        return store.server(serverId);
    }

    @Override
    public List<Server> list() {
        return store.servers();
    }

    @Override
    public Server refresh(String serverId) {
        Server seen = probe.apply(require(serverId));
        synchronized (lock) {
            Server s = require(serverId);
            Server updated = new Server(s.id(), s.hostname(), s.addresses(), s.labels(), s.binding(),
                    seen.facts(), seen.inventory(), seen.lastSeen(), s.cordoned());
            store.recordInventory(updated, Inventories.changes(s, seen.inventory(), InventorySource.REFRESH, clock.instant()));
            return updated;
        }
    }

    @Override
    public List<InventoryChange> recordInventory(String serverId, InventoryReport report) {
        List<InventoryChange> changes = recordPackages(serverId, report);
        if (report.services() != null && store.server(serverId).isPresent()) {
            services.record(serverId, report.services(), clock.instant());
        }
        return changes;
    }

    private List<InventoryChange> recordPackages(String serverId, InventoryReport report) {
        synchronized (lock) {
            Optional<Server> known = store.server(serverId);
            if (known.isEmpty()) {
                return List.of();
            }
            Server server = known.get();
            Map<String, String> inventory = Inventories.apply(server.inventory(), report, this::formatOf);
            List<InventoryChange> changes = Inventories.changes(server, inventory, report.source(), clock.instant());
            if (!changes.isEmpty()) {
                store.recordInventory(new Server(server.id(), server.hostname(), server.addresses(), server.labels(),
                        server.binding(), server.facts(), inventory, server.lastSeen(), server.cordoned()), changes);
            }
            return changes;
        }
    }

    /**
     * Records what a deployment's step found or did on the node ({@code version} null: not
     * installed), with the change in the history; a server that is gone is a {@link NotFoundException}.
     */
    void recordInstalled(String serverId, String packageName, String version) {
        synchronized (lock) {
            Server before = require(serverId);
            Server after = before.withInstalled(packageName, version);
            List<InventoryChange> changes = Inventories.changes(before, after.inventory(), InventorySource.DEPLOYMENT, clock.instant());
            if (!changes.isEmpty()) {
                store.recordInventory(after, changes);
            }
        }
    }

    /** The format of a package DeployKit has published, or null for one it does not know. */
    private String formatOf(String packageName) {
        var versions = store.packageVersions(packageName);
        return versions.isEmpty() ? null : versions.get(0).format();
    }

    @Override
    public List<InventoryChange> inventoryHistory(String serverId) {
        return store.inventoryHistory(serverId);
    }

    Server require(String serverId) {
        return get(serverId).orElseThrow(() -> new NotFoundException("server", serverId));
    }

    @Override
    public Liveness liveness(String serverId) {
        return Liveness.of(require(serverId), clock.instant(), liveness);
    }

    @Override
    public List<ServiceStatus> services(String serverId) {
        require(serverId);
        return services.of(serverId);
    }

    @Override
    public AutoCloseable onService(Consumer<ServiceChange> listener) {
        return services.listen(listener);
    }

    @Override
    public AutoCloseable onStatus(Consumer<ServerStatusChange> listener) {
        return watch.listen(java.util.Objects.requireNonNull(listener, "listener"));
    }

    /** Not under {@link #lock}: the store changes only lastSeen, and atomically, so it cannot undo another change. */
    @Override
    public void recordSeen(Map<String, Instant> seen) {
        store.updateLastSeen(seen);
    }
}
