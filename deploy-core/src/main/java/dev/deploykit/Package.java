package dev.deploykit;

import java.time.Instant;

/**
 * A published package version: its format, the stored artifact, and the metadata read from the
 * file. Identified by {@code name} and {@code version}.
 */
public record Package(String format, Artifact artifact, PackageMetadata metadata, Instant publishedAt) {
    public String name() {
        return metadata.name();
    }

    public String version() {
        return metadata.version();
    }

    @Override
    public String toString() {
        return name() + " " + version() + " (" + format + ", sha256:" + artifact.sha256().substring(0, 12) + ")";
    }
}
