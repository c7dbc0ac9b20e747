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
import java.util.stream.Stream;

/**
 * An {@link ArtifactStore} on the local filesystem: each blob is {@code <dir>/sha256/<hex>}. Writes go
 * to a staging file in a directory of its own that is renamed into place once its digest is known,
 * so a reader never sees a partial blob and a crash leaves only a staging directory. Thread-safe.
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
        try (InputStream in = Files.newInputStream(file); Staged staged = stage(in, "blob")) {
            return staged.commit();
        } catch (IOException e) {
            throw new StoreException("cannot store artifact from " + file + ": " + e.getMessage(), e, false);
        }
    }

    /** Stages into a new private directory {@code <dir>/sha256/incoming-*}, removed on commit or close. */
    @Override
    public Staged stage(InputStream content, String fileName) {
        String name = fileName == null || fileName.isEmpty() || fileName.contains("/") || fileName.equals(".") || fileName.equals("..")
                ? "blob" : fileName;
        Path dir = null;
        try {
            dir = Files.createTempDirectory(blobs, "incoming-");
            Path file = dir.resolve(name);
            String digest = Sha256.copy(content, file);
            return new FileStaged(dir, file, new Artifact(digest, Files.size(file)));
        } catch (IOException e) {
            deleteTree(dir);
            throw new StoreException("cannot stage artifact " + name + ": " + e.getMessage(), e, false);
        }
    }

    private final class FileStaged implements Staged {
        private final Path dir;
        private final Path file;
        private final Artifact artifact;
        private boolean committed;

        FileStaged(Path dir, Path file, Artifact artifact) {
            this.dir = dir;
            this.file = file;
            this.artifact = artifact;
        }

        @Override
        public Path path() {
            return file;
        }

        @Override
        public Artifact artifact() {
            return artifact;
        }

        @Override
        public Artifact commit() {
            if (!committed) {
                Path target = blobs.resolve(artifact.sha256());
                try {
                    if (!Files.exists(target)) {
                        Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
                    }
                } catch (IOException e) {
                    throw new StoreException("cannot store artifact " + artifact.sha256() + ": " + e.getMessage(), e, false);
                }
                committed = true;
                deleteTree(dir);
            }
            return artifact;
        }

        @Override
        public void close() {
            deleteTree(dir);
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

    /** Deletes a staging directory and the file in it, if still there. */
    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (NoSuchFileException ignored) {
            // already gone
        } catch (IOException ignored) {
            // best effort: a leftover staging directory is harmless and never read
        }
    }
}
