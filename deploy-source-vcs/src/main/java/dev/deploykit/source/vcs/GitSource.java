package dev.deploykit.source.vcs;

import dev.deploykit.SourceException;
import dev.deploykit.SourceException.Reason;
import dev.deploykit.spi.SecretSource;
import dev.deploykit.spi.Source;
import dev.deploykit.spi.SourceRevision;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.eclipse.jgit.api.FetchCommand;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.TagOpt;

/**
 * A Git repository as a {@link Source}, through JGit (no {@code git} program on the controller).
 * Refs: a tag or branch by full name ({@code refs/tags/v2.3.1}, {@code refs/heads/main}) or short
 * name (tags first), or a full 40-character commit id. Each resolve asks the server what the ref
 * names now and fetches that one commit, shallow, into a bare clone cached on the controller; the
 * tree is then read from the object database, so {@code .git} is never part of it. Thread-safe:
 * fetches and exports of one source run one at a time.
 *
 * <pre>{@code
 * kit.sources().register("shop", GitSource.of("https://git.example.com/shop.git", Credentials.token(Secret.of("shop-token"))));
 * kit.sources().register("shop", GitSource.builder("ssh://git@git.example.com/shop.git")
 *         .credentials(Credentials.sshKey(Secret.of("shop-deploy-key")))
 *         .knownHosts(Path.of("/etc/deploykit/known_hosts"))
 *         .build());
 * }</pre>
 */
public final class GitSource implements Source {
    private static final Pattern FULL_ID = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern SHORT_ID = Pattern.compile("[0-9a-f]{7,39}");
    private static final int MAX_NOTE_CHARS = 2000;

    /** The options of a built source. */
    record Options(String url, Credentials credentials, Path cacheDir, long maxCacheBytes, long maxTreeBytes, int maxTreeEntries,
            int depth, Path knownHosts, boolean trustOnFirstUse, Duration timeout) {}

    private final Options options;
    private final GitCache cache;

    private GitSource(Options options) {
        this.options = options;
        this.cache = new GitCache(options.cacheDir(), options.url(), options.maxCacheBytes());
    }

    /** Anonymous or with {@code credentials}, every other option at its default. */
    public static GitSource of(String url, Credentials credentials) {
        return builder(url).credentials(credentials).build();
    }

    public static Builder builder(String url) {
        return new Builder(url);
    }

    @Override
    public String type() {
        return "git";
    }

    @Override
    public String location() {
        return options.url();
    }

    @Override
    public SourceRevision resolve(String ref, SecretSource secrets) {
        try (GitConnection connection = new GitConnection(options, secrets)) {
            String fullRef = FULL_ID.matcher(ref).matches() ? null : advertised(ref, connection);
            synchronized (cache) {
                try (Repository repo = cache.open()) {
                    RevCommit commit = fetch(repo, fullRef, ref, connection);
                    return revision(repo, fullRef, commit);
                } catch (GitAPIException | IOException | RuntimeException e) {
                    throw connection.error(e);
                }
            }
        }
    }

    @Override
    public void export(SourceRevision revision, Path into, SecretSource secrets) {
        synchronized (cache) {
            try (Repository repo = cache.open()) {
                ObjectId id = ObjectId.fromString(revision.id());
                if (!repo.getObjectDatabase().has(id)) {
                    // the cache was cleared since the resolve
                    try (GitConnection connection = new GitConnection(options, secrets)) {
                        fetch(repo, revision.ref().startsWith("refs/") ? revision.ref() : null, revision.id(), connection);
                    }
                }
                try (RevWalk walk = new RevWalk(repo)) {
                    GitTree.write(repo, walk.parseCommit(id), into, new TreeBudget(location(), options.maxTreeBytes(), options.maxTreeEntries()),
                            location());
                }
            } catch (IOException | GitAPIException e) {
                throw new SourceException(location(), Reason.UNREACHABLE, "cannot read " + revision.shortId() + " from the cache: " + e.getMessage());
            }
        }
    }

    /** Commits between two revisions when the cache holds the history between them (a deeper {@code depth}); else empty. */
    @Override
    public List<SourceRevision> between(String fromId, String toId, int limit, SecretSource secrets) {
        synchronized (cache) {
            if (!cache.exists()) {
                return List.of();
            }
            try (Repository repo = cache.open()) {
                List<SourceRevision> forward = walk(repo, fromId, toId, limit);
                return forward.isEmpty() ? walk(repo, toId, fromId, limit) : forward;
            } catch (IOException e) {
                return List.of();
            }
        }
    }

    private List<SourceRevision> walk(Repository repo, String olderId, String newerId, int limit) throws IOException {
        ObjectId older = ObjectId.fromString(olderId);
        ObjectId newer = ObjectId.fromString(newerId);
        if (!repo.getObjectDatabase().has(older) || !repo.getObjectDatabase().has(newer)) {
            return List.of();
        }
        List<SourceRevision> found = new ArrayList<>();
        try (RevWalk walk = new RevWalk(repo)) {
            walk.markStart(walk.parseCommit(newer));
            for (RevCommit c : walk) {
                if (c.getId().equals(older)) {
                    return found;
                }
                if (found.size() == limit) {
                    return List.of();
                }
                found.add(new SourceRevision(c.name(), c.name(), c.abbreviate(7).name(), "0", c.getAuthorIdent().getName(),
                        Instant.ofEpochSecond(c.getCommitTime()), c.getFullMessage(), Map.of()));
            }
        }
        return List.of();
    }

    /** The full name of the branch or tag {@code ref} names on the server now. */
    private String advertised(String ref, GitConnection connection) {
        if (SHORT_ID.matcher(ref).matches() && !ref.matches("[0-9]+")) {
            throw new SourceException(location(), Reason.UNKNOWN_REF, "'" + ref + "' looks like an abbreviated commit id; a commit is"
                    + " fetched by its full 40-character id");
        }
        Map<String, Ref> refs;
        try {
            refs = connection.apply(Git.lsRemoteRepository().setRemote(options.url()).setHeads(true).setTags(true)).callAsMap();
        } catch (GitAPIException | RuntimeException e) {
            throw connection.error(e);
        }
        List<String> candidates = ref.startsWith("refs/") ? List.of(ref) : List.of("refs/tags/" + ref, "refs/heads/" + ref);
        return candidates.stream().filter(refs::containsKey).findFirst().orElseThrow(() -> new SourceException(location(), Reason.UNKNOWN_REF,
                "no branch or tag '" + ref + "' (looked for " + String.join(", ", candidates) + "; the server has "
                        + refs.keySet().stream().filter(r -> r.startsWith("refs/heads/")).count() + " branches and "
                        + refs.keySet().stream().filter(r -> r.startsWith("refs/tags/")).count() + " tags)"));
    }

    /** Fetches {@code fullRef}, or commit {@code ref} when {@code fullRef} is null (skipped when the cache has it), and parses it. */
    private RevCommit fetch(Repository repo, String fullRef, String ref, GitConnection connection) throws GitAPIException, IOException {
        ObjectId commitId = fullRef == null ? ObjectId.fromString(ref) : null;
        if (commitId == null || !repo.getObjectDatabase().has(commitId)) {
            String local = fullRef != null ? fullRef : "refs/deploykit/commits/" + ref;
            FetchCommand fetch = connection.apply(Git.wrap(repo).fetch().setRemote(options.url())
                    .setRefSpecs(new RefSpec("+" + (fullRef != null ? fullRef : ref) + ":" + local)).setTagOpt(TagOpt.NO_TAGS));
            if (options.depth() > 0) {
                fetch.setDepth(options.depth());
            }
            try {
                fetch.call();
            } catch (GitAPIException e) {
                if (commitId != null) {
                    throw new SourceException(location(), Reason.UNKNOWN_REF, "commit " + ref + " cannot be fetched (the server may not"
                            + " serve commits that no branch or tag names): " + connection.error(e).getMessage());
                }
                throw e;
            }
            Ref fetched = commitId == null ? repo.exactRef(local) : null;
            if (commitId == null && fetched == null || commitId != null && !repo.getObjectDatabase().has(commitId)) {
                throw new SourceException(location(), Reason.UNKNOWN_REF, "the server sent nothing for " + ref);
            }
            commitId = commitId != null ? commitId : fetched.getObjectId();
        }
        try (RevWalk walk = new RevWalk(repo)) {
            return walk.parseCommit(commitId);
        } catch (org.eclipse.jgit.errors.IncorrectObjectTypeException e) {
            throw new SourceException(location(), Reason.REFUSED, ref + " does not name a commit");
        }
    }

    private SourceRevision revision(Repository repo, String fullRef, RevCommit commit) throws IOException {
        String shortId = commit.abbreviate(7).name();
        Instant time = Instant.ofEpochSecond(commit.getCommitTime());
        List<String> submodules = GitTree.submodules(repo, commit);
        Map<String, String> notes = submodules.isEmpty() ? Map.of()
                : Map.of("submodules", "not shipped: " + truncate(String.join(", ", submodules)));
        return new SourceRevision(fullRef != null ? fullRef : commit.name(), commit.name(), shortId, GitVersions.of(fullRef, time, shortId),
                commit.getAuthorIdent().getName() + " <" + commit.getAuthorIdent().getEmailAddress() + ">", time, commit.getFullMessage(), notes);
    }

    private static String truncate(String s) {
        return s.length() <= MAX_NOTE_CHARS ? s : s.substring(0, MAX_NOTE_CHARS) + "...";
    }

    /** Options for a {@link GitSource}; each setter names a bad value. */
    public static final class Builder {
        private final String url;
        private Credentials credentials = Credentials.none();
        private Path cacheDir = Path.of(System.getProperty("java.io.tmpdir"), "deploykit-git-cache");
        private long maxCacheBytes = 2L * 1024 * 1024 * 1024;
        private long maxTreeBytes = 2L * 1024 * 1024 * 1024;
        private int maxTreeEntries = 200_000;
        private int depth = 1;
        private Path knownHosts = Path.of(System.getProperty("user.home"), ".ssh", "known_hosts");
        private boolean trustOnFirstUse;
        private Duration timeout = Duration.ofMinutes(2);

        private Builder(String url) {
            this.url = Locations.checked(url, "Git repository");
        }

        public Builder credentials(Credentials credentials) {
            this.credentials = Objects.requireNonNull(credentials, "credentials");
            return this;
        }

        /** Where the bare clones live, one per URL. Default: {@code deploykit-git-cache} in the temporary directory. */
        public Builder cacheDir(Path dir) {
            this.cacheDir = Objects.requireNonNull(dir, "cacheDir");
            return this;
        }

        /** A clone larger than this is deleted before the next fetch (which starts a shallow one afresh). Default 2 GiB. */
        public Builder maxCacheBytes(long bytes) {
            this.maxCacheBytes = positive("maxCacheBytes", bytes);
            return this;
        }

        /** A revision whose tree is larger is refused before it fills the disk. Default 2 GiB. */
        public Builder maxTreeBytes(long bytes) {
            this.maxTreeBytes = positive("maxTreeBytes", bytes);
            return this;
        }

        /** A revision with more files, links and submodules is refused. Default 200,000. */
        public Builder maxTreeEntries(int entries) {
            this.maxTreeEntries = (int) positive("maxTreeEntries", entries);
            return this;
        }

        /** Commits fetched per ref: 1 (the default) fetches the one revision; more lets previews list commits; 0 fetches all history. */
        public Builder depth(int depth) {
            if (depth < 0) {
                throw new IllegalArgumentException("depth must be 0 (all history) or more, but was " + depth);
            }
            this.depth = depth;
            return this;
        }

        /** The {@code known_hosts} file for git over SSH. Default {@code ~/.ssh/known_hosts}; strict: unknown keys are refused. */
        public Builder knownHosts(Path file) {
            this.knownHosts = Objects.requireNonNull(file, "knownHosts");
            return this;
        }

        /** Accept an unknown SSH host key and append it to the known_hosts file. Insecure on first contact: off by default. */
        public Builder trustOnFirstUse(boolean trust) {
            this.trustOnFirstUse = trust;
            return this;
        }

        /** Network timeout of each ls-remote and fetch. Default 2 minutes. */
        public Builder timeout(Duration timeout) {
            if (timeout == null || timeout.toSeconds() < 1) {
                throw new IllegalArgumentException("timeout must be at least 1 s, but was " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        public GitSource build() {
            return new GitSource(new Options(url, credentials, cacheDir, maxCacheBytes, maxTreeBytes, maxTreeEntries, depth, knownHosts,
                    trustOnFirstUse, timeout));
        }

        private static long positive(String what, long value) {
            if (value < 1) {
                throw new IllegalArgumentException(what + " must be at least 1, but was " + value);
            }
            return value;
        }
    }
}
