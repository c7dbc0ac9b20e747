package dev.deploykit.store.postgres;

import dev.deploykit.DeployEvent;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.LeaseLostException;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.StoreException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.SqlStatement;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * The append-only {@code events} table and the {@code node_tasks} rows that change with it. An
 * append writes the event, its task change and the deployment's status in one statement, and only
 * with the deployment's next sequence number ({@code deployments.last_seq}), by its owner under the
 * epoch {@link Leases} holds, so the log has no gap, no duplicate and no stale writer's event.
 *
 * <p>Owns nothing to close; {@link PostgresStore} closes the {@link Database}. Thread-safe: it keeps
 * no state of its own, and appends to one deployment are serialized by the database on its row.
 */
final class EventLog {
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

    private static final RowMapper<NodeTask> TASK = EventLog::task;

    private static final RowMapper<DeployEvent> EVENT = (rs, ctx) -> Json.event(rs.getString(1), rs.getString(2));

    private final Database db;
    private final Leases leases;

    EventLog(Database db, Leases leases) {
        this.db = db;
        this.leases = leases;
    }

    private static NodeTask task(ResultSet rs, StatementContext ctx) throws SQLException {
        return new NodeTask(rs.getString("deployment_id"), rs.getString("task_id"), rs.getString("server_id"), rs.getInt("batch"),
                NodeStatus.valueOf(rs.getString("status")), rs.getString("step"), rs.getString("previous_version"),
                rs.getString("target_version"), rs.getBoolean("changed"), rs.getString("message"), rs.getInt("attempt"),
                rs.getTimestamp("updated_at").toInstant());
    }

    private static <S extends SqlStatement<S>> S bindTask(S s, NodeTask t) {
        return s.bind("d", t.deploymentId()).bind("t", t.taskId()).bind("s", t.serverId()).bind("b", t.batch())
                .bind("st", t.status().name()).bind("step", t.step()).bind("prev", t.previousVersion()).bind("target", t.targetVersion())
                .bind("changed", t.changed()).bind("msg", t.message()).bind("attempt", t.attempt()).bind("at", Timestamp.from(t.updatedAt()));
    }

    /**
     * Writes a new deployment's node tasks and its first event, in the transaction {@code h} that
     * inserted the deployment row (with {@code last_seq} 1). Task ids must be unique.
     */
    void begin(Handle h, List<NodeTask> tasks, DeployEvent first) {
        var batch = h.prepareBatch("insert into node_tasks (deployment_id, task_id, server_id, batch, status, step, previous_version, "
                + "target_version, changed, message, attempt, updated_at) values (:d, :t, :s, :b, :st, :step, :prev, :target, :changed, "
                + ":msg, :attempt, :at)");
        Set<String> ids = new HashSet<>();
        for (NodeTask t : tasks) {
            if (!ids.add(t.taskId())) {
                throw new StoreException("duplicate task id " + t.taskId());
            }
            bindTask(batch, t).add();
        }
        if (!tasks.isEmpty()) {
            batch.execute();
        }
        h.createUpdate("insert into events (deployment_id, seq, time, kind, server_id, doc) values (:d, :seq, :time, :kind, :server, cast(:doc as jsonb))")
                .bind("d", first.deploymentId()).bind("seq", first.seq()).bind("time", Timestamp.from(first.time()))
                .bind("kind", first.getClass().getSimpleName()).bind("server", serverOf(first)).bind("doc", Json.event(first)).execute();
    }

    /** @see PostgresStore#append */
    void append(DeployEvent event, NodeTask task, DeploymentStatus status) {
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
                update.bindNull("t", Types.VARCHAR).bindNull("s", Types.VARCHAR).bind("b", 0)
                        .bind("st", "").bind("step", "").bindNull("prev", Types.VARCHAR).bindNull("target", Types.VARCHAR)
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
        if (e instanceof DeployEvent.NodeStatusChanged n) {
            return n.serverId();
        }
        if (e instanceof DeployEvent.NodeOutput o) {
            return o.serverId();
        }
        return e instanceof DeployEvent.ArtifactFetched f ? f.serverId() : null;
    }

    private static boolean sameEvent(Handle h, DeployEvent event) {
        return h.createQuery("select kind, doc::text from events where deployment_id = :d and seq = :seq").bind("d", event.deploymentId())
                .bind("seq", event.seq()).map(EVENT).findOne().map(event::equals).orElse(false);
    }

    /** @see PostgresStore#events */
    List<DeployEvent> events(String deploymentId, long afterSeq) {
        return db.query("read events of " + deploymentId, h -> h.createQuery(
                "select kind, doc::text from events where deployment_id = :d and seq > :after order by seq")
                .bind("d", deploymentId).bind("after", afterSeq).map(EVENT).list());
    }

    /** Node tasks of a deployment, by batch then server id. */
    List<NodeTask> tasks(String deploymentId) {
        return db.query("read tasks of " + deploymentId, h -> h.createQuery(
                "select * from node_tasks where deployment_id = :d order by batch, server_id").bind("d", deploymentId).map(TASK).list());
    }
}
