package dev.deploykit.store.postgres;

import dev.deploykit.InventoryChange;
import dev.deploykit.InventorySource;
import dev.deploykit.Server;
import java.sql.Timestamp;
import java.util.List;
import org.jdbi.v3.core.mapper.RowMapper;

/**
 * Inventory reports: the server document and the {@code inventory_history} rows (V7) of what changed,
 * written in one transaction, so a report is one round of statements however many packages it
 * changed (the rows go in one batch).
 *
 * <p>Owns nothing to close; {@link PostgresStore} closes the {@link Database}. Thread-safe: it is
 * immutable, and every change is one transaction.
 */
final class InventoryHistory {
    private static final RowMapper<InventoryChange> CHANGE = (rs, ctx) -> new InventoryChange(rs.getTimestamp("at").toInstant(),
            rs.getString("server_id"), rs.getString("package"), rs.getString("from_version"), rs.getString("to_version"),
            InventorySource.valueOf(rs.getString("source")));

    private final Database db;
    private final DocumentTable<Server> servers;

    InventoryHistory(Database db, DocumentTable<Server> servers) {
        this.db = db;
        this.servers = servers;
    }

    void record(Server server, List<InventoryChange> changes) {
        db.run("record the inventory of " + server.id(), h -> {
            servers.put(h, server);
            if (changes.isEmpty()) {
                return;
            }
            var batch = h.prepareBatch("""
                    insert into inventory_history (server_id, package, from_version, to_version, source, at)
                    values (:s, :p, :from, :to, :source, :at)""");
            for (InventoryChange c : changes) {
                batch.bind("s", c.serverId()).bind("p", c.packageName()).bind("from", c.fromVersion()).bind("to", c.toVersion())
                        .bind("source", c.source().name()).bind("at", Timestamp.from(c.at())).add();
            }
            batch.execute();
        });
    }

    List<InventoryChange> history(String serverId) {
        return db.query("read the inventory history of " + serverId, h -> h.createQuery(
                "select * from inventory_history where server_id = :s order by id").bind("s", serverId).map(CHANGE).list());
    }
}
