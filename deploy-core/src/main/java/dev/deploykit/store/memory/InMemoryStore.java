package dev.deploykit.store.memory;

import dev.deploykit.DeployEvent;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.InventoryChange;
import dev.deploykit.NodeTask;
import dev.deploykit.Package;
import dev.deploykit.Pin;
import dev.deploykit.PinChange;
import dev.deploykit.ScriptSet;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.StoreException;
import dev.deploykit.spi.DeploymentRecord;
import dev.deploykit.spi.Store;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.TreeMap;

/**
 * A {@link Store} in memory, for tests, demos and single-process use. Thread-safe: every method
 * holds one lock, which also makes each write atomic. Nothing survives the process.
 */
public final class InMemoryStore implements Store {
    private final Map<String, Server> servers = new TreeMap<>();
    private final Map<String, ServerGroup> groups = new TreeMap<>();
    private final Map<String, Map<String, Package>> packages = new TreeMap<>();
    private final Map<String, DeploymentRecord> deployments = new LinkedHashMap<>();
    private final Map<String, Map<String, NodeTask>> tasks = new HashMap<>();
    private final Map<String, List<DeployEvent>> events = new HashMap<>();
    /** Pins by group, then package name. */
    private final Map<String, Map<String, Pin>> pins = new TreeMap<>();
    private final Set<String> held = new TreeSet<>();
    private final List<PinChange> pinHistory = new ArrayList<>();
    /** Script set name to version to set, versions in the order saved. */
    private final Map<String, Map<String, ScriptSet>> scriptSets = new HashMap<>();

    @Override
    public synchronized boolean putScriptSet(ScriptSet set, String version) {
        return scriptSets.computeIfAbsent(set.name(), n -> new LinkedHashMap<>()).putIfAbsent(version, set) == null;
    }

    @Override
    public synchronized Optional<ScriptSet> scriptSet(String name, String version) {
        return Optional.ofNullable(scriptSets.getOrDefault(name, Map.of()).get(version));
    }

    @Override
    public synchronized List<String> scriptSetVersions(String name) {
        return List.copyOf(scriptSets.getOrDefault(name, Map.of()).keySet());
    }

    /** Inventory changes by server id, oldest first; kept after the server is removed, like any history. */
    private final Map<String, List<InventoryChange>> inventoryHistory = new HashMap<>();

    @Override
    public synchronized void recordInventory(Server server, List<InventoryChange> changes) {
        servers.put(server.id(), server);
        if (!changes.isEmpty()) {
            inventoryHistory.computeIfAbsent(server.id(), id -> new ArrayList<>()).addAll(changes);
        }
    }

    @Override
    public synchronized List<InventoryChange> inventoryHistory(String serverId) {
        return List.copyOf(inventoryHistory.getOrDefault(serverId, List.of()));
    }

    @Override
    public synchronized void putPin(Pin pin, PinChange change) {
        pins.computeIfAbsent(pin.group(), g -> new TreeMap<>()).put(pin.packageName(), pin);
        pinHistory.add(change);
    }

    @Override
    public synchronized boolean removePin(String group, String packageName, PinChange change) {
        Map<String, Pin> byPackage = pins.get(group);
        if (byPackage == null || byPackage.remove(packageName) == null) {
            return false;
        }
        pinHistory.add(change);
        return true;
    }

    @Override
    public synchronized List<Pin> pins() {
        return pins.values().stream().flatMap(m -> m.values().stream()).toList();
    }

    @Override
    public synchronized boolean holdServer(String serverId, boolean hold, PinChange change) {
        boolean changed = hold ? held.add(serverId) : held.remove(serverId);
        if (changed) {
            pinHistory.add(change);
        }
        return changed;
    }

    @Override
    public synchronized Set<String> heldServers() {
        return java.util.Collections.unmodifiableSortedSet(new TreeSet<>(held));
    }

    @Override
    public synchronized List<PinChange> pinHistory() {
        return List.copyOf(pinHistory);
    }

    @Override
    public synchronized void putServer(Server server) {
        servers.put(server.id(), server);
    }

    @Override
    public synchronized Optional<Server> server(String id) {
        return Optional.ofNullable(servers.get(id));
    }

    @Override
    public synchronized List<Server> servers() {
        return List.copyOf(servers.values());
    }

    @Override
    public synchronized boolean removeServer(String id) {
        return servers.remove(id) != null;
    }

    /** Under the store's lock, so a concurrent put never sees half a batch. */
    @Override
    public synchronized void updateLastSeen(Map<String, Instant> seen) {
        Store.super.updateLastSeen(seen);
    }

    @Override
    public synchronized void putGroup(ServerGroup group) {
        groups.put(group.name(), group);
    }

    @Override
    public synchronized Optional<ServerGroup> group(String name) {
        return Optional.ofNullable(groups.get(name));
    }

    @Override
    public synchronized List<ServerGroup> groups() {
        return List.copyOf(groups.values());
    }

    @Override
    public synchronized boolean removeGroup(String name) {
        return groups.remove(name) != null;
    }

    @Override
    public synchronized void putPackage(Package pkg) {
        Map<String, Package> versions = packages.computeIfAbsent(pkg.name(), n -> new LinkedHashMap<>());
        Package existing = versions.get(pkg.version());
        if (existing != null) {
            if (!existing.artifact().equals(pkg.artifact())) {
                throw new StoreException("package " + pkg.name() + " " + pkg.version()
                        + " is already published with digest " + existing.artifact().sha256()
                        + "; publish a new version instead of replacing it");
            }
            return;
        }
        versions.put(pkg.version(), pkg);
    }

    @Override
    public synchronized Optional<Package> findPackage(String name, String version) {
        return Optional.ofNullable(packages.getOrDefault(name, Map.of()).get(version));
    }

    @Override
    public synchronized List<Package> packageVersions(String name) {
        return List.copyOf(packages.getOrDefault(name, Map.of()).values());
    }

    @Override
    public synchronized List<String> packageNames() {
        return packages.entrySet().stream().filter(e -> !e.getValue().isEmpty()).map(Map.Entry::getKey).toList();
    }

    @Override
    public synchronized boolean removePackage(String name, String version) {
        Map<String, Package> versions = packages.get(name);
        return versions != null && versions.remove(version) != null;
    }

    @Override
    public synchronized void createDeployment(DeploymentRecord deployment, List<NodeTask> newTasks, DeployEvent first) {
        if (deployments.containsKey(deployment.id())) {
            throw new StoreException("deployment " + deployment.id() + " already exists");
        }
        if (first.seq() != 1 || !first.deploymentId().equals(deployment.id())) {
            throw new StoreException("first event of deployment " + deployment.id() + " must have seq 1, but was " + first.seq());
        }
        Map<String, NodeTask> byId = new LinkedHashMap<>();
        for (NodeTask t : newTasks) {
            if (byId.put(t.taskId(), t) != null) {
                throw new StoreException("duplicate task id " + t.taskId());
            }
        }
        deployments.put(deployment.id(), deployment);
        tasks.put(deployment.id(), byId);
        events.put(deployment.id(), new ArrayList<>(List.of(first)));
    }

    @Override
    public synchronized Optional<DeploymentRecord> deployment(String id) {
        return Optional.ofNullable(deployments.get(id));
    }

    @Override
    public synchronized List<DeploymentRecord> deployments() {
        List<DeploymentRecord> all = new ArrayList<>(deployments.values());
        all.sort(Comparator.comparing(DeploymentRecord::createdAt).reversed());
        return all;
    }

    @Override
    public synchronized List<NodeTask> tasks(String deploymentId) {
        return tasks.getOrDefault(deploymentId, Map.of()).values().stream()
                .sorted(Comparator.comparingInt(NodeTask::batch).thenComparing(NodeTask::serverId))
                .toList();
    }

    @Override
    public synchronized void append(DeployEvent event, NodeTask task, DeploymentStatus status) {
        DeploymentRecord deployment = deployments.get(event.deploymentId());
        if (deployment == null) {
            throw new StoreException("no deployment " + event.deploymentId());
        }
        List<DeployEvent> log = events.get(event.deploymentId());
        long expected = log.get(log.size() - 1).seq() + 1;
        if (event.seq() != expected) {
            throw new StoreException("event seq " + event.seq() + " for deployment " + event.deploymentId()
                    + " is out of order; expected " + expected);
        }
        Map<String, NodeTask> byId = tasks.get(event.deploymentId());
        if (task != null && !byId.containsKey(task.taskId())) {
            throw new StoreException("no task " + task.taskId() + " in deployment " + event.deploymentId());
        }
        log.add(event);
        if (task != null) {
            byId.put(task.taskId(), task);
        }
        if (status != null) {
            deployments.put(deployment.id(), deployment.with(status, event.time()));
        }
    }

    @Override
    public synchronized List<DeployEvent> events(String deploymentId, long afterSeq) {
        List<DeployEvent> log = events.getOrDefault(deploymentId, List.of());
        // seq n sits at index n-1: the log is gap-free from 1.
        int from = (int) Math.min(Math.max(afterSeq, 0), log.size());
        return List.copyOf(log.subList(from, log.size()));
    }
}
