package dev.deploykit.store.postgres;

import dev.deploykit.spi.Controls;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;

/**
 * {@link Controls} on the {@code control_requests} table (migration V5). Submitting and completing
 * NOTIFY the store's channel, so the owner and the submitter wake at once instead of polling;
 * both still re-read after their wait, which covers a lost notification. Thread-safe.
 */
final class PostgresControls implements Controls {
    private final Database db;
    private final String me;
    private final Notifier notifier;

    PostgresControls(Database db, String controllerId, Notifier notifier) {
        this.db = db;
        this.me = controllerId;
        this.notifier = notifier;
    }

    @Override
    public long submit(String deploymentId, Action action) {
        return db.transaction("ask the owner of " + deploymentId + " to " + action, h -> {
            long id = h.createQuery("insert into control_requests (deployment_id, action, requested_by) values (:d, :a, :me) returning id")
                    .bind("d", deploymentId).bind("a", action.name()).bind("me", me).mapTo(Long.class).one();
            notifyOthers(h);
            return id;
        });
    }

    @Override
    public List<Request> open(Collection<String> deploymentIds, Duration maxWait) {
        if (deploymentIds.isEmpty()) {
            return List.of();
        }
        long version = notifier.version();
        List<Request> open = read(deploymentIds);
        if (open.isEmpty()) {
            notifier.await(version, maxWait);
            open = read(deploymentIds);
        }
        return open;
    }

    private List<Request> read(Collection<String> deploymentIds) {
        return db.query("read control requests", h -> h.createQuery(
                "select id, deployment_id, action, requested_by from control_requests where outcome is null and deployment_id in (<ids>) order by id")
                .bindList("ids", List.copyOf(deploymentIds))
                .map((rs, ctx) -> new Request(rs.getLong(1), rs.getString(2), Action.valueOf(rs.getString(3)), rs.getString(4))).list());
    }

    @Override
    public void complete(long id, String error) {
        db.transaction("complete control request " + id, h -> {
            h.createUpdate("update control_requests set outcome = :o, completed_at = now() where id = :id and outcome is null")
                    .bind("o", error == null ? "" : error).bind("id", id).execute();
            notifyOthers(h);
            return null;
        });
    }

    @Override
    public Optional<String> outcome(long id, Duration maxWait) {
        long deadline = System.nanoTime() + maxWait.toNanos();
        while (true) {
            long version = notifier.version();
            Optional<String> outcome = db.query("read control request " + id, h -> h.createQuery(
                    "select outcome from control_requests where id = :id").bind("id", id).mapTo(String.class).findOne());
            long left = deadline - System.nanoTime();
            if (outcome.isPresent() || left <= 0) {
                return outcome;
            }
            notifier.await(version, Duration.ofNanos(left));
        }
    }

    private void notifyOthers(Handle h) {
        h.createQuery("select pg_notify(:channel, '')").bind("channel", notifier.channel).mapTo(String.class).one();
    }
}
