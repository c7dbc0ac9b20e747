package dev.deploykit.store.postgres;

import dev.deploykit.Artifact;
import dev.deploykit.Package;
import dev.deploykit.PackageMetadata;
import dev.deploykit.StoreException;
import java.sql.Timestamp;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.mapper.RowMapper;

/**
 * The {@code packages} table: published package versions, each immutable once published (the same
 * version again with another digest is refused), listed in publication order.
 *
 * <p>Owns nothing to close; {@link PostgresStore} closes the {@link Database}. Thread-safe: it is
 * immutable, and a publication locks the version's row.
 */
final class PackageTable {
    private static final RowMapper<Package> PACKAGE = (rs, ctx) -> new Package(rs.getString("format"),
            new Artifact(rs.getString("sha256"), rs.getLong("size")), Json.read(rs.getString("metadata"), PackageMetadata.class),
            rs.getTimestamp("published_at").toInstant());

    private final Database db;

    PackageTable(Database db) {
        this.db = db;
    }

    /** @see PostgresStore#putPackage */
    void put(Package pkg) {
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

    Optional<Package> find(String name, String version) {
        return db.query("read package " + name + " " + version, h -> h.createQuery("select * from packages where name = :n and version = :v")
                .bind("n", name).bind("v", version).map(PACKAGE).findOne());
    }

    /** Every version of {@code name}, oldest publication first. */
    List<Package> versions(String name) {
        return db.query("list versions of " + name, h -> h.createQuery("select * from packages where name = :n order by ordinal")
                .bind("n", name).map(PACKAGE).list());
    }

    /** Names of all packages, sorted. */
    List<String> names() {
        return db.query("list packages", h -> h.createQuery("select distinct name from packages order by name").mapTo(String.class).list());
    }

    boolean remove(String name, String version) {
        return db.query("remove package", h -> h.createUpdate("delete from packages where name = :n and version = :v")
                .bind("n", name).bind("v", version).execute() > 0);
    }
}
