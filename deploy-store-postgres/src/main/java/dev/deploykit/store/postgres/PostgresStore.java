package dev.deploykit.store.postgres;

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
import dev.deploykit.spi.Controls;
import dev.deploykit.spi.DeploymentRecord;
import dev.deploykit.spi.Relay;
import dev.deploykit.spi.Store;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;

/**
 * A {@link Store} on PostgreSQL through JDBI: servers, groups and plans as jsonb documents, node tasks
 * in columns, and an append-only event log keyed by (deployment, sequence). Schema migrations
 * (Flyway, {@code db/deploykit/V*.sql}) run at {@link Builder#build()}. Every write is one transaction.
 *
 * <p>Database outages (a restart, a dropped connection) are retried with exponential backoff for up
 * to {@link Builder#retryFor} before a call fails with a retryable {@link StoreException}. An event
 * append whose commit was lost in such an outage is recognised on retry, so the log gets neither a
 * gap nor a duplicate.
 *
 * <pre>{@code
 * PostgresStore store = PostgresStore.builder("jdbc:postgresql://db:5432/deploykit").user("deploykit")
 *         .password(System.getenv("PGPASSWORD")).build();
 * DeployKit kit = DeployKit.builder().store(store).transport(...).build();
 * }</pre>
 *
 * <p>Thread-safe. The DeployKit it is registered with closes it (and its connection pool).
 */
public final class PostgresStore implements Store {
    // The work is done by one class per concern; this class wires them up and delegates to them.
    private final Database db;
    private final Leases leases;
    private final DocumentTable<Server> servers;
    private final DocumentTable<ServerGroup> groups;
    private final LastSeenUpdates lastSeen;
    private final PackageTable packages;
    private final PinTable pins;
    private final ScriptSetTable scriptSets;
    private final InventoryHistory inventoryHistory;
    private final EventLog events;
    private final DeploymentTable deployments;
    private final Notifier notifier;
    private final PostgresRelay relay;
    private final PostgresControls controls;

    private PostgresStore(Builder b) {
        this.db = new Database(b.url, b.user, b.password, b.schema, b.poolSize, b.retryFor);
        this.leases = new Leases(db, b.controllerId != null ? b.controllerId : Leases.defaultControllerId(), b.lease);
        this.servers = new DocumentTable<>(db, "servers", "id", Server.class, Server::id, "server");
        this.groups = new DocumentTable<>(db, "server_groups", "name", ServerGroup.class, ServerGroup::name, "group");
        this.lastSeen = new LastSeenUpdates(db);
        this.packages = new PackageTable(db);
        this.pins = new PinTable(db);
        this.scriptSets = new ScriptSetTable(db);
        this.inventoryHistory = new InventoryHistory(db, servers);
        this.events = new EventLog(db, leases);
        this.deployments = new DeploymentTable(db, leases, events);
        this.notifier = new Notifier(PostgresRelay.channel(b.schema), b.url, b.user, b.password);
        this.relay = new PostgresRelay(db, leases.controllerId(), notifier);
        this.controls = new PostgresControls(db, leases.controllerId(), notifier);
    }

    /** This controller's identity in the {@code owner} column of the deployments it owns. */
    public String controllerId() {
        return leases.controllerId();
    }

    public static Builder builder(String jdbcUrl) {
        return new Builder(jdbcUrl);
    }

    /** How many times an operation was retried because the database was unreachable (for monitoring). */
    public long retries() {
        return db.retries();
    }

    /** The pooled DataSource, for applications that keep their own tables next to DeployKit's. */
    public DataSource dataSource() {
        return db.dataSource();
    }

    // ---- ownership of deployments (several controllers on one database) ----

    /**
     * Takes the deployment if nobody holds a live lease on it (or renews this controller's own).
     * Taking it over from another controller raises the fencing epoch, which refuses the previous
     * owner's appends from then on.
     */
    @Override
    public boolean acquire(String deploymentId) {
        return leases.acquire(deploymentId);
    }

    @Override
    public long epoch(String deploymentId) {
        return leases.epoch(deploymentId);
    }

    @Override
    public void release(String deploymentId) {
        leases.release(deploymentId);
    }

    /** A third of the lease: a controller whose leases ran out for as long is gone or cut off. */
    @Override
    public Optional<Duration> takeoverCheckInterval() {
        return Optional.of(leases.takeoverCheckInterval());
    }

    /** Steps for nodes whose agents are connected to another controller go through the database. */
    @Override
    public Optional<Controls> controls() {
        return Optional.of(controls);
    }

    @Override
    public Optional<Relay> relay() {
        return Optional.of(relay);
    }

    // ---- servers and groups ----

    @Override
    public void putServer(Server server) {
        servers.put(server);
    }

    /** The server document and its history rows in one transaction: see {@link InventoryHistory}. */
    @Override
    public void recordInventory(Server server, List<InventoryChange> changes) {
        inventoryHistory.record(server, changes);
    }

    @Override
    public List<InventoryChange> inventoryHistory(String serverId) {
        return inventoryHistory.history(serverId);
    }

    @Override
    public Optional<Server> server(String id) {
        return servers.get(id);
    }

    @Override
    public List<Server> servers() {
        return servers.list();
    }

    @Override
    public boolean removeServer(String id) {
        return servers.remove(id);
    }

    /** One statement per batch: see {@link LastSeenUpdates}. */
    @Override
    public void updateLastSeen(Map<String, Instant> seen) {
        lastSeen.update(seen);
    }

    @Override
    public void putGroup(ServerGroup group) {
        groups.put(group);
    }

    @Override
    public Optional<ServerGroup> group(String name) {
        return groups.get(name);
    }

    @Override
    public List<ServerGroup> groups() {
        return groups.list();
    }

    @Override
    public boolean removeGroup(String name) {
        return groups.remove(name);
    }

    // ---- packages ----

    @Override
    public void putPackage(Package pkg) {
        packages.put(pkg);
    }

    @Override
    public Optional<Package> findPackage(String name, String version) {
        return packages.find(name, version);
    }

    @Override
    public List<Package> packageVersions(String name) {
        return packages.versions(name);
    }

    @Override
    public List<String> packageNames() {
        return packages.names();
    }

    @Override
    public boolean removePackage(String name, String version) {
        return packages.remove(name, version);
    }

    // ---- desired state ----

    @Override
    public void putPin(Pin pin, PinChange change) {
        pins.put(pin, change);
    }

    @Override
    public boolean removePin(String group, String packageName, PinChange change) {
        return pins.remove(group, packageName, change);
    }

    @Override
    public boolean putScriptSet(ScriptSet set, String version) {
        return scriptSets.put(set, version);
    }

    @Override
    public Optional<ScriptSet> scriptSet(String name, String version) {
        return scriptSets.get(name, version);
    }

    @Override
    public List<String> scriptSetVersions(String name) {
        return scriptSets.versions(name);
    }

    @Override
    public List<Pin> pins() {
        return pins.list();
    }

    @Override
    public boolean holdServer(String serverId, boolean held, PinChange change) {
        return pins.hold(serverId, held, change);
    }

    @Override
    public Set<String> heldServers() {
        return pins.held();
    }

    @Override
    public List<PinChange> pinHistory() {
        return pins.history();
    }

    /**
     * Takes the named lease if nobody holds it unexpired (or renews this controller's own); it is then
     * renewed with the deployments' leases until released, and runs out a lease length after this
     * controller stops.
     */
    @Override
    public boolean acquireLease(String name) {
        return leases.acquireNamed(name);
    }

    @Override
    public void releaseLease(String name) {
        leases.releaseNamed(name);
    }

    // ---- deployments, tasks, events ----

    @Override
    public void createDeployment(DeploymentRecord d, List<NodeTask> tasks, DeployEvent first) {
        deployments.create(d, tasks, first);
    }

    @Override
    public Optional<DeploymentRecord> deployment(String id) {
        return deployments.get(id);
    }

    @Override
    public List<DeploymentRecord> deployments() {
        return deployments.list();
    }

    @Override
    public List<NodeTask> tasks(String deploymentId) {
        return events.tasks(deploymentId);
    }

    @Override
    public void append(DeployEvent event, NodeTask task, DeploymentStatus status) {
        events.append(event, task, status);
    }

    @Override
    public List<DeployEvent> events(String deploymentId, long afterSeq) {
        return events.events(deploymentId, afterSeq);
    }

    /** Closes the connection pool. */
    @Override
    public void close() {
        leases.close();
        notifier.close();
        db.close();
    }

    /** Options for {@link PostgresStore}. */
    public static final class Builder {
        private final String url;
        private String user;
        private String password;
        private String schema;
        private int poolSize = 10;
        private Duration retryFor = Duration.ofMinutes(2);
        private String controllerId;
        private Duration lease = Duration.ofSeconds(15);

        private Builder(String url) {
            this.url = url;
        }

        public Builder user(String user) {
            this.user = user;
            return this;
        }

        public Builder password(String password) {
            this.password = password;
            return this;
        }

        /** Keep DeployKit's tables in this schema (created if missing). Default: the connection's default. */
        public Builder schema(String schema) {
            if (!schema.matches("[a-z_][a-z0-9_]{0,62}")) {
                throw new IllegalArgumentException("schema must match [a-z_][a-z0-9_]{0,62}, but was '" + schema + "'");
            }
            this.schema = schema;
            return this;
        }

        public Builder poolSize(int size) {
            this.poolSize = size;
            return this;
        }

        /**
         * This controller's name in the {@code owner} column; unique among the controllers sharing the
         * database. Default: host name, process id and a random suffix.
         */
        public Builder controllerId(String id) {
            if (id == null || id.isBlank()) {
                throw new IllegalArgumentException("controllerId must not be blank");
            }
            this.controllerId = id;
            return this;
        }

        /**
         * How long this controller's ownership of a deployment lasts without renewal (it renews every
         * third of it): after a crash, another controller takes over within about this long. Default 15 s.
         */
        public Builder lease(Duration lease) {
            if (lease.compareTo(Duration.ofMillis(300)) < 0) {
                throw new IllegalArgumentException("lease must be at least 300 ms, but was " + lease);
            }
            this.lease = lease;
            return this;
        }

        /** How long a call keeps retrying while the database is unreachable. Default 2 minutes. */
        public Builder retryFor(Duration window) {
            this.retryFor = window;
            return this;
        }

        /** Connects, applies migrations, and returns the store. */
        public PostgresStore build() {
            return new PostgresStore(this);
        }
    }
}
