package dev.deploykit.store.postgres;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;

/**
 * A table of jsonb documents under a text primary key: {@code servers} (keyed by {@code id}) and
 * {@code server_groups} (keyed by {@code name}). Documents are whole records, replaced on every put.
 *
 * <p>Owns nothing to close; {@link PostgresStore} closes the {@link Database}. Thread-safe: it is
 * immutable, and every call is one statement.
 *
 * @param <T> the record type stored, (de)serialised by {@link Json}
 */
final class DocumentTable<T> {
    private final Database db;
    private final Class<T> type;
    private final Function<T, String> key;
    /** What a document is called in error messages, e.g. "server". */
    private final String noun;
    private final String upsert;
    private final String select;
    private final String list;
    private final String delete;

    /**
     * {@code table} and {@code keyColumn} are written into the SQL, so they must be constants of this
     * package, never input.
     */
    DocumentTable(Database db, String table, String keyColumn, Class<T> type, Function<T, String> key, String noun) {
        this.db = db;
        this.type = type;
        this.key = key;
        this.noun = noun;
        this.upsert = "insert into %s (%s, doc) values (:key, cast(:doc as jsonb)) on conflict (%2$s) do update set doc = excluded.doc"
                .formatted(table, keyColumn);
        this.select = "select doc::text from %s where %s = :key".formatted(table, keyColumn);
        this.list = "select doc::text from %s order by %s".formatted(table, keyColumn);
        this.delete = "delete from %s where %s = :key".formatted(table, keyColumn);
    }

    void put(T document) {
        db.run("store " + noun + " " + key.apply(document), h -> put(h, document));
    }

    /** Stores {@code document} within the caller's transaction. */
    void put(Handle h, T document) {
        h.createUpdate(upsert).bind("key", key.apply(document)).bind("doc", Json.write(document)).execute();
    }

    Optional<T> get(String k) {
        return db.query("read " + noun + " " + k, h -> h.createQuery(select).bind("key", k)
                .mapTo(String.class).findOne().map(doc -> Json.read(doc, type)));
    }

    /** All documents, by key. */
    List<T> list() {
        return db.query("list " + noun + "s", h -> h.createQuery(list).mapTo(String.class).map(doc -> Json.read(doc, type)).list());
    }

    boolean remove(String k) {
        return db.query("remove " + noun + " " + k, h -> h.createUpdate(delete).bind("key", k).execute() > 0);
    }
}
