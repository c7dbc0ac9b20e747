package dev.deploykit.store.fs;

import dev.deploykit.Artifact;
import dev.deploykit.StoreException;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.support.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An {@link ArtifactStore} on the local filesystem: each blob is {@code <dir>/sha256/<hex>}. Writes go
 * to a temporary file that is renamed into place once its digest is known, so a reader never sees a
 * partial blob and a crash leaves only a temporary file. Thread-safe.
 */
public final class FileArtifactStore implements ArtifactStore {
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
    private final Path blobs;

    public FileArtifactStore(Path dir) {
        this.blobs = dir.resolve("sha256");
        try {
            Files.createDirectories(blobs);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create artifact store at " + blobs, e);
        }
    }

    @Override
    public Artifact put(Path file) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile(blobs, "incoming-", ".tmp");
            String digest;
            try (InputStream in = Files.newInputStream(file)) {
                digest = Sha256.copy(in, tmp);
            }
            Path target = blobs.resolve(digest);
            long size = Files.size(tmp);
            if (Files.exists(target)) {
                Files.delete(tmp);
            } else {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            }
            return new Artifact(digest, size);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new StoreException("cannot store artifact from " + file + ": " + e.getMessage(), e, false);
        }
    }

    @Override
    public Optional<Artifact> find(String sha256) {
        Path path = path(sha256);
        try {
            return Optional.of(new Artifact(sha256, Files.size(path)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new StoreException("cannot read artifact " + sha256 + ": " + e.getMessage(), e, true);
        }
    }

    @Override
    public InputStream open(String sha256, long offset) {
        try {
            FileChannel channel = FileChannel.open(path(sha256), StandardOpenOption.READ);
            channel.position(offset);
            return Channels.newInputStream(channel);
        } catch (NoSuchFileException e) {
            throw new StoreException("no artifact " + sha256);
        } catch (IOException e) {
            throw new StoreException("cannot open artifact " + sha256 + ": " + e.getMessage(), e, true);
        }
    }

    @Override
    public boolean delete(String sha256) {
        try {
            return Files.deleteIfExists(path(sha256));
        } catch (IOException e) {
            throw new StoreException("cannot delete artifact " + sha256 + ": " + e.getMessage(), e, true);
        }
    }

    private Path path(String sha256) {
        if (sha256 == null || !HEX64.matcher(sha256).matches()) {
            throw new IllegalArgumentException("sha256 must be 64 lowercase hex digits, but was " + sha256);
        }
        return blobs.resolve(sha256);
    }

    private static void deleteQuietly(Path path) {
        if (path != null) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // best effort: a leftover temp file is harmless and never read
            }
        }
    }
}
