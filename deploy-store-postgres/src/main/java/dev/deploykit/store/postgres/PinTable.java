package dev.deploykit.store.postgres;

import dev.deploykit.Pin;
import dev.deploykit.PinChange;
import java.sql.Timestamp;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;

/**
 * The desired state: the {@code pins} table (the strategy as a plan document, rebuilt through
 * {@link Json#plan}), {@code held_servers}, and the {@code pin_history} every change appends to in
 * the same transaction.
 *
 * <p>Owns nothing to close; {@link PostgresStore} closes the {@link Database}. Thread-safe: it is
 * immutable, and every change is one transaction.
 */
final class PinTable {
    private static final RowMapper<Pin> PIN = (rs, ctx) -> new Pin(rs.getString("group_name"), rs.getString("package"),
            rs.getString("version"), Json.plan(rs.getString("strategy")), rs.getString("pinned_by"),
            rs.getTimestamp("pinned_at").toInstant());

    private final Database db;

    PinTable(Database db) {
        this.db = db;
    }

    void put(Pin pin, PinChange change) {
        db.run("pin " + pin.key() + " " + pin.version(), h -> {
            h.createUpdate("""
                    insert into pins (group_name, package, version, strategy, pinned_by, pinned_at)
                    values (:g, :p, :v, cast(:s as jsonb), :by, :at)
                    on conflict (group_name, package) do update set version = excluded.version, strategy = excluded.strategy,
                           pinned_by = excluded.pinned_by, pinned_at = excluded.pinned_at""")
                    .bind("g", pin.group()).bind("p", pin.packageName()).bind("v", pin.version())
                    .bind("s", Json.plan(pin.strategy())).bind("by", pin.pinnedBy()).bind("at", Timestamp.from(pin.pinnedAt())).execute();
            append(h, change);
        });
    }

    boolean remove(String group, String packageName, PinChange change) {
        return db.transaction("unpin " + Pin.key(group, packageName), h -> {
            boolean removed = h.createUpdate("delete from pins where group_name = :g and package = :p")
                    .bind("g", group).bind("p", packageName).execute() > 0;
            if (removed) {
                append(h, change);
            }
            return removed;
        });
    }

    List<Pin> list() {
        return db.query("list pins", h -> h.createQuery("select * from pins order by group_name, package").map(PIN).list());
    }

    boolean hold(String serverId, boolean held, PinChange change) {
        return db.transaction((held ? "hold " : "release ") + serverId, h -> {
            String sql = held ? "insert into held_servers (server_id) values (:s) on conflict do nothing"
                    : "delete from held_servers where server_id = :s";
            boolean changed = h.createUpdate(sql).bind("s", serverId).execute() > 0;
            if (changed) {
                append(h, change);
            }
            return changed;
        });
    }

    Set<String> held() {
        List<String> ids = db.query("list held servers", h -> h.createQuery("select server_id from held_servers").mapTo(String.class).list());
        return Collections.unmodifiableSortedSet(new TreeSet<String>(ids));
    }

    List<PinChange> history() {
        return db.query("read the pin history", h -> h.createQuery("select doc::text from pin_history order by id")
                .mapTo(String.class).map(doc -> Json.read(doc, PinChange.class)).list());
    }

    private static void append(Handle h, PinChange change) {
        h.createUpdate("insert into pin_history (doc) values (cast(:doc as jsonb))").bind("doc", Json.write(change)).execute();
    }
}
