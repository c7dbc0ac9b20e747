package dev.deploykit.spi;

import dev.deploykit.Artifact;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/** Controller-side blobs addressed by SHA-256. Thread-safe. */
public interface ArtifactStore {
    /** Stores a copy of {@code file} (once: storing the same bytes again is a no-op). */
    Artifact put(Path file);

    Optional<Artifact> find(String sha256);

    /** Reads the blob from {@code offset}; the caller closes the stream. */
    InputStream open(String sha256, long offset);

    /** Deletes the blob; false when it was not there. */
    boolean delete(String sha256);
}
