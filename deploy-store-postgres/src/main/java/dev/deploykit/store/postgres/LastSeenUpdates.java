package dev.deploykit.store.postgres;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@link dev.deploykit.spi.Store#updateLastSeen}: sets {@code lastSeen} inside the {@code servers}
 * documents of a whole batch in one statement, so a controller writes once per flush interval however
 * many agents send it heartbeats. Only the one field changes ({@code jsonb_set}), so a concurrent
 * label change on another controller is never undone (it can at worst write back a lastSeen older
 * by one flush, which the next flush moves forward again); the time only moves forward. Rows are
 * locked in id order, so two controllers flushing overlapping batches wait for each other instead of
 * deadlocking.
 *
 * <p>The time is stored as {@link Instant#toString()}, the ISO-8601 form Jackson writes for the
 * rest of the document, so {@link Json} reads it back unchanged. Thread-safe (immutable); owns
 * nothing to close.
 */
final class LastSeenUpdates {
    private static final String UPDATE = """
            update servers s
               set doc = jsonb_set(s.doc, '{lastSeen}', to_jsonb(u.seen))
              from unnest(cast(:ids as text[]), cast(:seens as text[])) as u(id, seen)
             where s.id = u.id
               and s.id in (select id from servers where id = any(cast(:ids as text[])) order by id for update)
               and (s.doc->>'lastSeen' is null or cast(s.doc->>'lastSeen' as timestamptz) < cast(u.seen as timestamptz))
            """;

    private final Database db;

    LastSeenUpdates(Database db) {
        this.db = db;
    }

    /** @return how many servers moved forward */
    int update(Map<String, Instant> seen) {
        if (seen.isEmpty()) {
            return 0;
        }
        Map<String, Instant> sorted = new TreeMap<>(seen);
        List<String> ids = List.copyOf(sorted.keySet());
        List<String> times = sorted.values().stream().map(Instant::toString).toList();
        return db.query("record last-seen times of " + ids.size() + " servers", h -> h.createUpdate(UPDATE)
                .bindArray("ids", String.class, ids).bindArray("seens", String.class, times).execute());
    }
}
