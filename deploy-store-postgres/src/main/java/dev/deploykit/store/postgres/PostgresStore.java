package dev.deploykit.store.postgres;

import dev.deploykit.Artifact;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.LeaseLostException;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.Package;
import dev.deploykit.PackageMetadata;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.StoreException;
import dev.deploykit.spi.DeploymentRecord;
import dev.deploykit.spi.Relay;
import dev.deploykit.spi.Store;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * A {@link Store} on PostgreSQL through JDBI: servers, groups and plans as jsonb documents, node tasks
 * in columns, and an append-only event log keyed by (deployment, sequence). Schema migrations
 * (Flyway, {@code db/deploykit/V*.sql}) run at {@link #create}. Every write is one transaction.
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
    private final Database db;
    private final Leases leases;
    private final DocumentTable<Server> servers;
    private final DocumentTable<ServerGroup> groups;
    private final Notifier notifier;
    private final PostgresRelay relay;

    private PostgresStore(Builder b) {
        this.db = new Database(b.url, b.user, b.password, b.schema, b.poolSize, b.retryFor);
        this.leases = new Leases(db, b.controllerId != null ? b.controllerId : Leases.defaultControllerId(), b.lease);
        this.servers = new DocumentTable<>(db, "servers", "id", Server.class, Server::id, "server");
        this.groups = new DocumentTable<>(db, "server_groups", "name", ServerGroup.class, ServerGroup::name, "group");
        this.notifier = new Notifier(PostgresRelay.channel(b.schema), b.url, b.user, b.password);
        this.relay = new PostgresRelay(db, leases.controllerId(), notifier);
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
    public Optional<Relay> relay() {
        return Optional.of(relay);
    }

    // ---- servers and groups ----

    @Override
    public void putServer(Server server) {
        servers.put(server);
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

    private static final RowMapper<Package> PACKAGE = (rs, ctx) -> new Package(rs.getString("format"),
            new Artifact(rs.getString("sha256"), rs.getLong("size")), Json.read(rs.getString("metadata"), PackageMetadata.class),
            rs.getTimestamp("published_at").toInstant());

    @Override
    public void putPackage(Package pkg) {
        db.run("publish " + pkg.name() + " " + pkg.version(), h -> {
            Optional<String> existing = h.createQuery("select sha256 from packages where name = :n and version = :v for update")
                    .bind("n", pkg.name()).bind("v", pkg.version()).mapTo(String.class).findOne();
            if (existing.isPresent()) {
                if (!existing.get().equals(pkg.artifact().sha256())) {
                    throw new StoreException("package " + pkg.name() + " " + pkg.version() + " is already published with digest "
                            + existing.get() + "; publish a new version instead of replacing it");
                }
                return;
            }
            h.createUpdate("insert into packages (name, version, format, sha256, size, metadata, published_at) "
                    + "values (:n, :v, :f, :sha, :size, cast(:meta as jsonb), :at) on conflict do nothing")
                    .bind("n", pkg.name()).bind("v", pkg.version()).bind("f", pkg.format()).bind("sha", pkg.artifact().sha256())
                    .bind("size", pkg.artifact().size()).bind("meta", Json.write(pkg.metadata()))
                    .bind("at", Timestamp.from(pkg.publishedAt())).execute();
        });
    }

    @Override
    public Optional<Package> findPackage(String name, String version) {
        return db.query("read package " + name + " " + version, h -> h.createQuery("select * from packages where name = :n and version = :v")
                .bind("n", name).bind("v", version).map(PACKAGE).findOne());
    }

    @Override
    public List<Package> packageVersions(String name) {
        return db.query("list versions of " + name, h -> h.createQuery("select * from packages where name = :n order by ordinal")
                .bind("n", name).map(PACKAGE).list());
    }

    @Override
    public List<String> packageNames() {
        return db.query("list packages", h -> h.createQuery("select distinct name from packages order by name").mapTo(String.class).list());
    }

    @Override
    public boolean removePackage(String name, String version) {
        return db.query("remove package", h -> h.createUpdate("delete from packages where name = :n and version = :v")
                .bind("n", name).bind("v", version).execute() > 0);
    }

    // ---- deployments, tasks, events ----

    private static final RowMapper<DeploymentRecord> DEPLOYMENT = (rs, ctx) -> new DeploymentRecord(rs.getString("id"),
            Json.plan(rs.getString("plan")), batches(rs.getString("batches")), DeploymentStatus.valueOf(rs.getString("status")),
            rs.getTimestamp("created_at").toInstant(), rs.getTimestamp("updated_at").toInstant());

    @SuppressWarnings("unchecked")
    private static List<List<String>> batches(String json) {
        return Json.read(json, List.class);
    }

    private static final RowMapper<NodeTask> TASK = PostgresStore::task;

    private static NodeTask task(java.sql.ResultSet rs, StatementContext ctx) throws SQLException {
        return new NodeTask(rs.getString("deployment_id"), rs.getString("task_id"), rs.getString("server_id"), rs.getInt("batch"),
                NodeStatus.valueOf(rs.getString("status")), rs.getString("step"), rs.getString("previous_version"),
                rs.getString("target_version"), rs.getBoolean("changed"), rs.getString("message"), rs.getInt("attempt"),
                rs.getTimestamp("updated_at").toInstant());
    }

    @Override
    public void createDeployment(DeploymentRecord d, List<NodeTask> tasks, DeployEvent first) {
        if (first.seq() != 1 || !first.deploymentId().equals(d.id())) {
            throw new StoreException("first event of deployment " + d.id() + " must have seq 1, but was " + first.seq());
        }
        db.run("create deployment " + d.id(), h -> {
            boolean exists = h.createQuery("select count(*) from deployments where id = :id").bind("id", d.id()).mapTo(Integer.class).one() > 0;
            if (exists) {
                throw new StoreException("deployment " + d.id() + " already exists");
            }
            h.createUpdate("insert into deployments (id, plan, batches, status, created_at, updated_at, last_seq, owner, lease_until, epoch) "
                    + "values (:id, cast(:plan as jsonb), cast(:batches as jsonb), :status, :created, :updated, 1, :me, "
                    + "now() + make_interval(secs => :secs), :epoch)")
                    .bind("me", leases.controllerId()).bind("secs", leases.seconds()).bind("epoch", Leases.FIRST_EPOCH).bind("id", d.id()).bind("plan", Json.plan(d.plan())).bind("batches", Json.write(d.batches()))
                    .bind("status", d.status().name()).bind("created", Timestamp.from(d.createdAt()))
                    .bind("updated", Timestamp.from(d.updatedAt())).execute();
            var batch = h.prepareBatch("insert into node_tasks (deployment_id, task_id, server_id, batch, status, step, previous_version, "
                    + "target_version, changed, message, attempt, updated_at) values (:d, :t, :s, :b, :st, :step, :prev, :target, :changed, "
                    + ":msg, :attempt, :at)");
            java.util.Set<String> ids = new java.util.HashSet<>();
            for (NodeTask t : tasks) {
                if (!ids.add(t.taskId())) {
                    throw new StoreException("duplicate task id " + t.taskId());
                }
                bindTask(batch, t).add();
            }
            if (!tasks.isEmpty()) {
                batch.execute();
            }
            insertEvent(h, first);
        });
        leases.created(d.id());
    }

    private static <S extends org.jdbi.v3.core.statement.SqlStatement<S>> S bindTask(S s, NodeTask t) {
        return s.bind("d", t.deploymentId()).bind("t", t.taskId()).bind("s", t.serverId()).bind("b", t.batch())
                .bind("st", t.status().name()).bind("step", t.step()).bind("prev", t.previousVersion()).bind("target", t.targetVersion())
                .bind("changed", t.changed()).bind("msg", t.message()).bind("attempt", t.attempt()).bind("at", Timestamp.from(t.updatedAt()));
    }

    private static void insertEvent(Handle h, DeployEvent e) {
        String server = serverOf(e);
        h.createUpdate("insert into events (deployment_id, seq, time, kind, server_id, doc) values (:d, :seq, :time, :kind, :server, cast(:doc as jsonb))")
                .bind("d", e.deploymentId()).bind("seq", e.seq()).bind("time", Timestamp.from(e.time()))
                .bind("kind", e.getClass().getSimpleName()).bind("server", server).bind("doc", Json.event(e)).execute();
    }

    @Override
    public Optional<DeploymentRecord> deployment(String id) {
        return db.query("read deployment " + id, h -> h.createQuery("select * from deployments where id = :id").bind("id", id)
                .map(DEPLOYMENT).findOne());
    }

    @Override
    public List<DeploymentRecord> deployments() {
        return db.query("list deployments", h -> h.createQuery("select * from deployments order by created_at desc, id").map(DEPLOYMENT).list());
    }

    @Override
    public List<NodeTask> tasks(String deploymentId) {
        return db.query("read tasks of " + deploymentId, h -> h.createQuery(
                "select * from node_tasks where deployment_id = :d order by batch, server_id").bind("d", deploymentId).map(TASK).list());
    }

    /**
     * One statement, so one round trip: claims the next sequence number on the deployment row (which
     * also serializes appends per deployment), updates the task and the status, and inserts the event.
     * Nothing is written unless the sequence number is the next one and the task exists.
     */
    private static final String APPEND = """
            with d as (
                update deployments set last_seq = :seq,
                       status = coalesce(cast(:status as text), status),
                       updated_at = case when cast(:status as text) is null then updated_at else :time end,
                       lease_until = case when cast(:status as text) in %s then null else lease_until end
                 where id = :d and last_seq = :seq - 1 and owner = :me and epoch = :epoch
                   and (cast(:t as text) is null or exists (select 1 from node_tasks where deployment_id = :d and task_id = :t))
                returning id),
            t as (
                update node_tasks set server_id = :s, batch = :b, status = :st, step = :step, previous_version = :prev,
                       target_version = :target, changed = :changed, message = :msg, attempt = :attempt, updated_at = :at
                 where deployment_id = (select id from d) and task_id = :t
                returning 1)
            insert into events (deployment_id, seq, time, kind, server_id, doc)
            select id, :seq, :time, :kind, :server, cast(:doc as jsonb) from d""".formatted(Leases.TERMINAL);

    @Override
    public void append(DeployEvent event, NodeTask task, DeploymentStatus status) {
        String me = leases.controllerId();
        // autocommit: the one statement is its own transaction, without begin/commit round trips
        db.query("append event " + event.seq() + " of " + event.deploymentId(), h -> {
            var update = h.createUpdate(APPEND).bind("d", event.deploymentId()).bind("seq", event.seq())
                    .bind("me", me).bind("epoch", leases.heldEpoch(event.deploymentId()))
                    .bind("time", Timestamp.from(event.time())).bind("status", status == null ? null : status.name())
                    .bind("kind", event.getClass().getSimpleName()).bind("server", serverOf(event)).bind("doc", Json.event(event));
            if (task != null) {
                bindTask(update, task);
            } else {
                update.bindNull("t", java.sql.Types.VARCHAR).bindNull("s", java.sql.Types.VARCHAR).bind("b", 0)
                        .bind("st", "").bind("step", "").bindNull("prev", java.sql.Types.VARCHAR).bindNull("target", java.sql.Types.VARCHAR)
                        .bind("changed", false).bind("msg", "").bind("attempt", 0).bind("at", Timestamp.from(event.time()));
            }
            if (update.execute() == 1) {
                return null;
            }
            var row = h.createQuery("select last_seq, owner, epoch from deployments where id = :d").bind("d", event.deploymentId())
                    .mapToMap().findOne();
            if (row.isEmpty()) {
                throw new StoreException("no deployment " + event.deploymentId());
            }
            long last = ((Number) row.get().get("last_seq")).longValue();
            if (event.seq() <= last && sameEvent(h, event)) {
                return null; // a retry of an append whose commit succeeded but whose answer was lost
            }
            Object owner = row.get().get("owner");
            long epoch = ((Number) row.get().get("epoch")).longValue();
            if (!me.equals(owner) || epoch != leases.heldEpoch(event.deploymentId())) {
                leases.lost(event.deploymentId());
                throw new LeaseLostException("deployment " + event.deploymentId() + " is owned by controller " + owner
                        + " (epoch " + epoch + "), not by this controller " + me);
            }
            if (event.seq() == last + 1) {
                throw new StoreException("no task " + task.taskId() + " in deployment " + event.deploymentId());
            }
            throw new StoreException("event seq " + event.seq() + " for deployment " + event.deploymentId()
                    + " is out of order; expected " + (last + 1));
        });
    }

    private static String serverOf(DeployEvent e) {
        return e instanceof DeployEvent.NodeStatusChanged n ? n.serverId() : e instanceof DeployEvent.NodeOutput o ? o.serverId() : null;
    }

    private static boolean sameEvent(Handle h, DeployEvent event) {
        return h.createQuery("select kind, doc::text from events where deployment_id = :d and seq = :seq").bind("d", event.deploymentId())
                .bind("seq", event.seq()).map((rs, ctx) -> Json.event(rs.getString(1), rs.getString(2))).findOne()
                .map(event::equals).orElse(false);
    }

    @Override
    public List<DeployEvent> events(String deploymentId, long afterSeq) {
        return db.query("read events of " + deploymentId, h -> h.createQuery(
                "select kind, doc::text from events where deployment_id = :d and seq > :after order by seq")
                .bind("d", deploymentId).bind("after", afterSeq).map((rs, ctx) -> Json.event(rs.getString(1), rs.getString(2))).list());
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
