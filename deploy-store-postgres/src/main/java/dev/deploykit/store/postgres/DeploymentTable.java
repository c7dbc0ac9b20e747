package dev.deploykit.store.postgres;

import dev.deploykit.DeployEvent;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.StoreException;
import dev.deploykit.spi.DeploymentRecord;
import java.sql.Timestamp;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.mapper.RowMapper;

/**
 * The {@code deployments} table: creating a deployment (its row, owned by this controller under
 * {@link Leases#FIRST_EPOCH}, with its node tasks and first event through the {@link EventLog}, in one
 * transaction) and reading deployment rows. Later changes to a row come with events or leases.
 *
 * <p>Owns nothing to close; {@link PostgresStore} closes the {@link Database}. Thread-safe: it keeps
 * no state of its own.
 */
final class DeploymentTable {
    private static final RowMapper<DeploymentRecord> DEPLOYMENT = (rs, ctx) -> new DeploymentRecord(rs.getString("id"),
            Json.plan(rs.getString("plan")), batches(rs.getString("batches")), DeploymentStatus.valueOf(rs.getString("status")),
            rs.getTimestamp("created_at").toInstant(), rs.getTimestamp("updated_at").toInstant());

    private final Database db;
    private final Leases leases;
    private final EventLog events;

    DeploymentTable(Database db, Leases leases, EventLog events) {
        this.db = db;
        this.leases = leases;
        this.events = events;
    }

    @SuppressWarnings("unchecked")
    private static List<List<String>> batches(String json) {
        return Json.read(json, List.class);
    }

    /** @see PostgresStore#createDeployment */
    void create(DeploymentRecord d, List<NodeTask> tasks, DeployEvent first) {
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
                    .bind("me", leases.controllerId()).bind("secs", leases.seconds()).bind("epoch", Leases.FIRST_EPOCH)
                    .bind("id", d.id()).bind("plan", Json.plan(d.plan())).bind("batches", Json.write(d.batches()))
                    .bind("status", d.status().name()).bind("created", Timestamp.from(d.createdAt()))
                    .bind("updated", Timestamp.from(d.updatedAt())).execute();
            events.begin(h, tasks, first);
        });
        leases.created(d.id());
    }

    Optional<DeploymentRecord> get(String id) {
        return db.query("read deployment " + id, h -> h.createQuery("select * from deployments where id = :id").bind("id", id)
                .map(DEPLOYMENT).findOne());
    }

    /** All deployments, newest first. */
    List<DeploymentRecord> list() {
        return db.query("list deployments", h -> h.createQuery("select * from deployments order by created_at desc, id").map(DEPLOYMENT).list());
    }
}
