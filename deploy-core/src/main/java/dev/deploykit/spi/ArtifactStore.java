package dev.deploykit.spi;

import dev.deploykit.Artifact;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/** Controller-side blobs addressed by SHA-256. Thread-safe. */
public interface ArtifactStore {
    /** Stores a copy of {@code file} (once: storing the same bytes again is a no-op). */
    Artifact put(Path file);

    /**
     * Copies {@code content} once into a staging file of the store's own, named {@code fileName},
     * hashing it on the way, so that the bytes a caller checks at {@link Staged#path()} are the bytes
     * {@link Staged#commit()} stores, whatever happens to their source meanwhile. The caller closes
     * {@code content} and the returned {@code Staged}; closing it uncommitted deletes the staging file.
     *
     * <pre>{@code
     * try (InputStream in = Files.newInputStream(file); ArtifactStore.Staged staged = store.stage(in, "app.deb")) {
     *     check(staged.path());
     *     Artifact stored = staged.commit();
     * }
     * }</pre>
     */
    Staged stage(InputStream content, String fileName);

    Optional<Artifact> find(String sha256);

    /** Reads the blob from {@code offset}; the caller closes the stream. */
    InputStream open(String sha256, long offset);

    /** Deletes the blob; false when it was not there. */
    boolean delete(String sha256);

    /** Bytes copied into a store but not yet in it. Not thread-safe: one caller uses it, then closes it. */
    interface Staged extends AutoCloseable {
        /** The staged copy, readable until {@link #commit()} or {@link #close()}; nobody else writes it. */
        Path path();

        /** The digest and size of the staged bytes. */
        Artifact artifact();

        /** Stores the staged bytes under their digest (a no-op when they are stored already) and returns them. */
        Artifact commit();

        /** Deletes the staging file, unless {@link #commit()} moved it into the store. */
        @Override
        void close();
    }
}
