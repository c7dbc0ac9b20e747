package dev.deploykit.store.postgres;

import dev.deploykit.spi.Relay;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import org.jdbi.v3.core.Handle;

/**
 * {@link Relay} on two tables ({@code relay_steps}, {@code relay_output}, migration V4). Claims use
 * {@code FOR UPDATE SKIP LOCKED}, so controllers never wait on each other's claims; a claim lasts
 * {@link #CLAIM} and is extended with every report. Writers NOTIFY, followers and claimers LISTEN.
 */
final class PostgresRelay implements Relay {
    static final Duration CLAIM = Duration.ofSeconds(10);

    private final Database db;
    private final String me;
    private final Notifier notifier;

    PostgresRelay(Database db, String controllerId, Notifier notifier) {
        this.db = db;
        this.me = controllerId;
        this.notifier = notifier;
    }

    /** The NOTIFY channel of the relay: one per schema, within PostgreSQL's 63-character identifiers. */
    static String channel(String schema) {
        String channel = "deploykit_relay_" + (schema == null ? "default" : schema);
        return channel.length() <= 63 ? channel
                : "deploykit_relay_" + Integer.toHexString(schema.hashCode()) + "_" + schema.substring(0, 30);
    }

    private void notifyOthers(Handle h) {
        h.createQuery("select pg_notify(:channel, '')").bind("channel", notifier.channel).mapTo(String.class).one();
    }

    @Override
    public long submit(String serverId, Step step) {
        return db.transaction("relay a step to " + serverId, h -> {
            long id = h.createQuery("insert into relay_steps (server_id, step, requested_by) values (:s, cast(:step as jsonb), :me) returning id")
                    .bind("s", serverId).bind("step", Json.step(step)).bind("me", me).mapTo(Long.class).one();
            notifyOthers(h);
            return id;
        });
    }

    @Override
    public Progress follow(long id, int seenLines, Duration maxWait) {
        long version = notifier.version();
        Progress progress = progress(id, seenLines);
        if (progress.lines().isEmpty() && progress.outcome() == null) {
            notifier.await(version, maxWait);
            progress = progress(id, seenLines);
        }
        return progress;
    }

    private Progress progress(long id, int seenLines) {
        return db.transaction("follow relayed step " + id, h -> {
            List<Line> lines = h.createQuery("select stream, line from relay_output where step_id = :id and n > :seen order by n")
                    .bind("id", id).bind("seen", seenLines).map((rs, ctx) -> new Line(rs.getString(1), rs.getString(2))).list();
            Optional<Progress> row = h.createQuery(
                    "select outcome::text, claimed_by is not null and claimed_until > now() from relay_steps where id = :id")
                    .bind("id", id).map((rs, ctx) -> new Progress(lines,
                            rs.getString(1) == null ? null : Json.read(rs.getString(1), Outcome.class), rs.getBoolean(2))).findOne();
            return row.orElse(new Progress(lines, new Outcome(null, null, "relayed step " + id + " is gone", true), false));
        });
    }

    @Override
    public void abandon(long id) {
        db.transaction("abandon relayed step " + id, h -> {
            int gone = h.createUpdate("delete from relay_steps where id = :id and (claimed_by is null or claimed_until < now() "
                    + "or outcome is not null)").bind("id", id).execute();
            if (gone == 0) {
                h.createUpdate("update relay_steps set abandoned = true where id = :id").bind("id", id).execute();
            }
            return null;
        });
    }

    @Override
    public void forget(long id) {
        db.transaction("forget relayed step " + id, h -> h.createUpdate("delete from relay_steps where id = :id").bind("id", id).execute());
    }

    @Override
    public List<Claimed> claim(Predicate<String> reaches, int max, Duration maxWait) {
        long version = notifier.version();
        List<Claimed> claimed = tryClaim(reaches, max);
        if (claimed.isEmpty()) {
            notifier.await(version, maxWait);
            claimed = tryClaim(reaches, max);
        }
        return claimed;
    }

    private List<Claimed> tryClaim(Predicate<String> reaches, int max) {
        return db.transaction("claim relayed steps", h -> {
            // steps nobody will read any more: their requester died, or gave up while the claimer died
            h.createUpdate("""
                    delete from relay_steps where created_at < now() - interval '1 hour'
                       and (outcome is not null or abandoned or claimed_by is null or claimed_until < now())""").execute();
            List<Claimed> open = h.createQuery("""
                    select id, server_id, step::text from relay_steps
                     where outcome is null and not abandoned and (claimed_by is null or claimed_until < now())
                     order by id limit 64 for update skip locked""")
                    .map((rs, ctx) -> new Claimed(rs.getLong(1), rs.getString(2), Json.step(rs.getString(3)))).list();
            List<Claimed> mine = new ArrayList<>();
            for (Claimed c : open) {
                if (mine.size() < max && reaches.test(c.serverId())) {
                    h.createUpdate("update relay_steps set claimed_by = :me, claimed_until = now() + make_interval(secs => :secs) where id = :id")
                            .bind("me", me).bind("secs", (double) CLAIM.toSeconds()).bind("id", c.id()).execute();
                    mine.add(c);
                }
            }
            return mine;
        });
    }

    @Override
    public boolean report(long id, List<Line> lines) {
        return db.transaction("report relayed step " + id, h -> {
            Optional<Integer> total = h.createQuery("""
                    update relay_steps set claimed_until = now() + make_interval(secs => :secs), lines = lines + :k
                     where id = :id and claimed_by = :me and not abandoned returning lines""")
                    .bind("secs", (double) CLAIM.toSeconds()).bind("k", lines.size()).bind("id", id).bind("me", me)
                    .mapTo(Integer.class).findOne();
            if (total.isEmpty()) {
                return false;
            }
            if (!lines.isEmpty()) {
                var batch = h.prepareBatch("insert into relay_output (step_id, n, stream, line) values (:id, :n, :stream, :line)");
                int n = total.get() - lines.size();
                for (Line line : lines) {
                    batch.bind("id", id).bind("n", ++n).bind("stream", line.stream()).bind("line", line.text()).add();
                }
                batch.execute();
                notifyOthers(h);
            }
            return true;
        });
    }

    @Override
    public void finish(long id, Outcome outcome) {
        db.transaction("finish relayed step " + id, h -> {
            h.createUpdate("update relay_steps set outcome = cast(:o as jsonb) where id = :id and claimed_by = :me")
                    .bind("o", Json.write(outcome)).bind("id", id).bind("me", me).execute();
            h.createUpdate("delete from relay_steps where id = :id and abandoned").bind("id", id).execute();
            notifyOthers(h);
            return null;
        });
    }
}
