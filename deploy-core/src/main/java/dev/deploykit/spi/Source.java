package dev.deploykit.spi;

import java.nio.file.Path;
import java.util.List;

/**
 * A version control repository that DeployKit publishes revisions of, as script bundles
 * ({@link dev.deploykit.Packages#publishFrom(String, String)}). Implementations ship outside core
 * ({@code deploy-source-vcs}: Git through JGit, Subversion through SVNKit). Credentials are
 * {@link dev.deploykit.Secret} references resolved from the kit's {@link SecretSource} at each call
 * and never kept, logged or put in a message. Implementations must be thread-safe.
 *
 * <p>Every failure is a {@link dev.deploykit.SourceException} whose
 * {@link dev.deploykit.SourceException#reason() reason} says what went wrong (bad credentials, an
 * unknown ref, an unreachable server, a tree DeployKit refuses to ship).
 */
public interface Source {
    /** What kind of repository this is, {@code git} or {@code svn}: for messages and package fields. */
    String type();

    /** Where the repository is, fit to show and store: never with credentials in it. */
    String location();

    /**
     * The revision {@code ref} names now (a tag, branch, commit, or a Subversion path with an
     * optional {@code @revision}), fetching what is needed to know it, with the version its bundle
     * is published under.
     */
    SourceRevision resolve(String ref, SecretSource secrets);

    /**
     * Writes the tree of {@code revision} (from {@link #resolve}) into the empty directory
     * {@code into}: regular files with their executable bit, directories, relative symlinks; never
     * repository metadata ({@code .git}, {@code .svn}).
     */
    void export(SourceRevision revision, Path into, SecretSource secrets);

    /**
     * The revisions after {@code fromId} up to and including {@code toId}, newest first, at most
     * {@code limit}, when that is cheap to know (for previews); empty when it is not.
     */
    default List<SourceRevision> between(String fromId, String toId, int limit, SecretSource secrets) {
        return List.of();
    }
}
