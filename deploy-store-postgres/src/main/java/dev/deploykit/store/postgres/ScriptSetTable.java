package dev.deploykit.store.postgres;

import dev.deploykit.ScriptSet;
import java.util.List;
import java.util.Optional;

/**
 * The {@code script_sets} table (V8): one row per saved name and version, the set as a jsonb
 * document written by {@link Json#scriptSet(ScriptSet)}. Rows are inserted once and never updated.
 *
 * <p>Owns nothing to close; {@link PostgresStore} closes the {@link Database}. Thread-safe: it is
 * immutable, and each call is one statement.
 */
final class ScriptSetTable {
    private final Database db;

    ScriptSetTable(Database db) {
        this.db = db;
    }

    boolean put(ScriptSet set, String version) {
        return db.transaction("save script set " + set.name() + " " + version, h -> h.createUpdate("""
                insert into script_sets (name, version, doc) values (:n, :v, cast(:d as jsonb))
                on conflict (name, version) do nothing""")
                .bind("n", set.name()).bind("v", version).bind("d", Json.scriptSet(set)).execute() > 0);
    }

    Optional<ScriptSet> get(String name, String version) {
        return db.query("read script set " + name + " " + version, h -> h.createQuery(
                "select doc::text from script_sets where name = :n and version = :v")
                .bind("n", name).bind("v", version).mapTo(String.class).findOne().map(Json::scriptSet));
    }

    List<String> versions(String name) {
        return db.query("list versions of script set " + name, h -> h.createQuery(
                "select version from script_sets where name = :n order by seq").bind("n", name).mapTo(String.class).list());
    }
}
