package dev.deploykit.source.vcs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bare clone of one repository on the controller, at {@code <cacheDir>/<sha256(url) prefix>.git}.
 * When it has grown past its bound it is deleted before the next fetch, which then starts a shallow
 * clone afresh: disk use stays near the bound plus one fetch. Callers synchronize on it.
 */
final class GitCache {
    private static final Logger log = LoggerFactory.getLogger(GitCache.class);
    private final Path dir;
    private final long maxBytes;

    GitCache(Path cacheDir, String url, long maxBytes) {
        this.dir = cacheDir.resolve(hash(url) + ".git");
        this.maxBytes = maxBytes;
    }

    boolean exists() {
        return Files.isDirectory(dir);
    }

    /** The clone, created empty when missing, cleared first when over its bound. */
    Repository open() throws IOException {
        if (exists() && size() > maxBytes) {
            log.info("git cache {} is over {} bytes: starting it afresh", dir, maxBytes);
            delete();
        }
        if (!exists()) {
            Files.createDirectories(dir.getParent());
            try (Git git = Git.init().setBare(true).setDirectory(dir.toFile()).call()) {
                // created
            } catch (GitAPIException e) {
                throw new IOException("cannot create the git cache " + dir + ": " + e.getMessage(), e);
            }
        }
        Repository repo = new FileRepositoryBuilder().setGitDir(dir.toFile()).setMustExist(true).build();
        noAutoGc(repo);
        return repo;
    }

    /**
     * A fetch would otherwise start {@code git gc --auto} on a background thread, which writes and
     * deletes files ({@code gc.log.lock}, packs) while this cache is measured, deleted or read. The
     * bound above keeps the clone small instead.
     */
    private static void noAutoGc(Repository repo) throws IOException {
        StoredConfig config = repo.getConfig();
        if (config.getInt("gc", "auto", -1) != 0) {
            config.setInt("gc", null, "auto", 0);
            config.setBoolean("gc", null, "autoDetach", false);
            config.save();
        }
    }

    private long size() throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (NoSuchFileException e) {
                    return 0; // a lock file that came and went
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).sum();
        }
    }

    private void delete() throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static String hash(String url) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(url.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
