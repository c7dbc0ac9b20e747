package dev.deploykit.source.vcs;

import dev.deploykit.SourceException;
import dev.deploykit.SourceException.Reason;
import dev.deploykit.spi.SecretSource;
import dev.deploykit.spi.Source;
import dev.deploykit.spi.SourceRevision;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.tmatesoft.svn.core.SVNDepth;
import org.tmatesoft.svn.core.SVNDirEntry;
import org.tmatesoft.svn.core.SVNException;
import org.tmatesoft.svn.core.SVNLogEntry;
import org.tmatesoft.svn.core.SVNNodeKind;
import org.tmatesoft.svn.core.SVNURL;
import org.tmatesoft.svn.core.auth.BasicAuthenticationManager;
import org.tmatesoft.svn.core.auth.ISVNAuthenticationManager;
import org.tmatesoft.svn.core.auth.SVNAuthentication;
import org.tmatesoft.svn.core.internal.io.dav.DAVRepositoryFactory;
import org.tmatesoft.svn.core.internal.io.svn.SVNRepositoryFactoryImpl;
import org.tmatesoft.svn.core.io.SVNRepository;
import org.tmatesoft.svn.core.io.SVNRepositoryFactory;
import org.tmatesoft.svn.core.wc.SVNEvent;
import org.tmatesoft.svn.core.wc.SVNRevision;
import org.tmatesoft.svn.core.wc2.SvnExport;
import org.tmatesoft.svn.core.wc2.SvnOperationFactory;
import org.tmatesoft.svn.core.wc2.SvnTarget;

/**
 * A Subversion repository as a {@link Source}, through SVNKit (no {@code svn} program on the
 * controller), over {@code svn://} (svnserve) or {@code http(s)://} (mod_dav_svn). The URL is the
 * repository root; a ref is a path in it with an optional revision: {@code tags/v2.3.1},
 * {@code trunk}, {@code trunk@1234}. The version is the path's last changed revision number, so a
 * newer commit always sorts higher and publishing an unchanged path again is the same package.
 * Export is {@code svn export} (no {@code .svn}, externals not fetched), so the controller keeps no
 * cache. Thread-safe: each call opens its own session.
 *
 * <pre>{@code
 * kit.sources().register("billing", SvnSource.of("svn://svn.example.com/billing", Credentials.password("deployer", Secret.of("svn-pass"))));
 * kit.packages().publishFrom("billing", "tags/release-7");
 * }</pre>
 */
public final class SvnSource implements Source {
    static {
        SVNRepositoryFactoryImpl.setup();
        DAVRepositoryFactory.setup();
    }

    /** The options of a built source. */
    record Options(String url, Credentials credentials, long maxTreeBytes, int maxTreeEntries, Duration timeout) {}

    private final Options options;
    private final SVNURL root;

    private SvnSource(Options options) {
        this.options = options;
        try {
            this.root = SVNURL.parseURIEncoded(options.url());
        } catch (SVNException e) {
            throw new IllegalArgumentException("Subversion URL is malformed: " + e.getErrorMessage().getMessage());
        }
        if (options.credentials() instanceof Credentials.SshKey) {
            throw new IllegalArgumentException("SvnSource takes Credentials.none() or Credentials.password(user, secret)");
        }
    }

    public static SvnSource of(String url, Credentials credentials) {
        return builder(url).credentials(credentials).build();
    }

    public static Builder builder(String url) {
        return new Builder(url);
    }

    @Override
    public String type() {
        return "svn";
    }

    @Override
    public String location() {
        return options.url();
    }

    @Override
    public SourceRevision resolve(String ref, SecretSource secrets) {
        Ref r = Ref.parse(ref, location());
        Session s = new Session(secrets);
        SVNRepository repo = s.open();
        try {
            long at = r.revision() < 0 ? repo.getLatestRevision() : r.revision();
            SVNNodeKind kind = repo.checkPath(r.path(), at);
            if (kind != SVNNodeKind.DIR) {
                throw new SourceException(location(), Reason.UNKNOWN_REF, "no directory '" + r.path() + "' at revision " + at
                        + (kind == SVNNodeKind.FILE ? " (it is a file)" : ""));
            }
            SVNDirEntry entry = repo.info(r.path(), at);
            long changed = entry.getRevision();
            SVNLogEntry log = logEntry(repo, r.path(), changed);
            return new SourceRevision(r.path() + "@" + changed, Long.toString(changed), "r" + changed, Long.toString(changed),
                    log.getAuthor(), log.getDate() == null ? Instant.EPOCH : log.getDate().toInstant(), log.getMessage(), Map.of());
        } catch (SVNException e) {
            throw s.error(e, r.path());
        } finally {
            repo.closeSession();
        }
    }

    @Override
    public void export(SourceRevision revision, Path into, SecretSource secrets) {
        Ref r = Ref.parse(revision.ref(), location());
        Session s = new Session(secrets);
        SvnOperationFactory factory = new SvnOperationFactory();
        try {
            factory.setAuthenticationManager(s.authentication());
            TreeBudget budget = new TreeBudget(location(), options.maxTreeBytes(), options.maxTreeEntries());
            factory.setEventHandler(new org.tmatesoft.svn.core.wc.ISVNEventHandler() {
                @Override
                public void handleEvent(SVNEvent event, double progress) {
                    if (event.getFile() != null && event.getFile().isFile()) {
                        budget.add(into.relativize(event.getFile().toPath()).toString(), event.getFile().length());
                    }
                }

                @Override
                public void checkCancelled() {}
            });
            SvnExport export = factory.createExport();
            export.setSource(SvnTarget.fromURL(root.appendPath(r.path(), false), SVNRevision.create(r.revision())));
            export.setSingleTarget(SvnTarget.fromFile(into.toFile()));
            export.setForce(true);
            export.setDepth(SVNDepth.INFINITY);
            export.setIgnoreExternals(true);
            export.run();
        } catch (SVNException e) {
            throw s.error(e, r.path());
        } finally {
            factory.dispose();
        }
    }

    /** The log between the two revisions of the path, from the server: one cheap request. */
    @Override
    public List<SourceRevision> between(String fromId, String toId, int limit, SecretSource secrets) {
        long from = Long.parseLong(fromId);
        long to = Long.parseLong(toId);
        Session s = new Session(secrets);
        SVNRepository repo = s.open();
        List<SourceRevision> found = new ArrayList<>();
        try {
            repo.log(new String[] {""}, Math.max(from, to), Math.min(from, to) + 1, false, false, limit, e -> found.add(new SourceRevision(
                    "", Long.toString(e.getRevision()), "r" + e.getRevision(), Long.toString(e.getRevision()), e.getAuthor(),
                    e.getDate() == null ? Instant.EPOCH : e.getDate().toInstant(), e.getMessage(), Map.of())));
            return found;
        } catch (SVNException e) {
            throw s.error(e, "");
        } finally {
            repo.closeSession();
        }
    }

    private static SVNLogEntry logEntry(SVNRepository repo, String path, long revision) throws SVNException {
        SVNLogEntry[] found = new SVNLogEntry[1];
        repo.log(new String[] {path}, revision, revision, false, false, 1, e -> found[0] = e);
        return found[0] != null ? found[0] : new SVNLogEntry(Map.of(), revision, null, null, null);
    }

    /** A path in the repository and a revision ({@code -1}: the newest). */
    record Ref(String path, long revision) {
        static Ref parse(String ref, String location) {
            int at = ref.lastIndexOf('@');
            String path = (at < 0 ? ref : ref.substring(0, at)).replaceAll("^/+|/+$", "");
            long revision = -1;
            if (at >= 0) {
                try {
                    revision = Long.parseLong(ref.substring(at + 1));
                } catch (NumberFormatException e) {
                    revision = -2;
                }
            }
            if (path.isEmpty() || path.contains("..") || revision < -1) {
                throw new SourceException(location, Reason.UNKNOWN_REF, "'" + ref + "' is not a ref: give a path in the repository"
                        + " with an optional @revision, like tags/v1.2 or trunk@1234");
            }
            return new Ref(path, revision);
        }
    }

    /** The credentials of one call, resolved from their secret just now. */
    private final class Session {
        private final String secretValue;
        private final String user;

        Session(SecretSource secrets) {
            if (options.credentials() instanceof Credentials.Password p) {
                this.user = p.user();
                this.secretValue = Credentials.value(secrets, p.secret());
            } else {
                this.user = null;
                this.secretValue = null;
            }
        }

        ISVNAuthenticationManager authentication() {
            int millis = (int) options.timeout().toMillis();
            SVNAuthentication[] given = user == null ? new SVNAuthentication[0]
                    : new SVNAuthentication[] {org.tmatesoft.svn.core.auth.SVNPasswordAuthentication.newInstance(user,
                            secretValue.toCharArray(), false, root, false)};
            return new BasicAuthenticationManager(given) {
                @Override
                public int getConnectTimeout(SVNRepository repository) {
                    return millis;
                }

                @Override
                public int getReadTimeout(SVNRepository repository) {
                    return millis;
                }
            };
        }

        SVNRepository open() {
            try {
                SVNRepository repo = SVNRepositoryFactory.create(root);
                repo.setAuthenticationManager(authentication());
                return repo;
            } catch (SVNException e) {
                throw error(e, "");
            }
        }

        SourceException error(SVNException e, String path) {
            return SvnErrors.translate(location(), path, e, secretValue);
        }
    }

    /** Options for an {@link SvnSource}. */
    public static final class Builder {
        private final String url;
        private Credentials credentials = Credentials.none();
        private long maxTreeBytes = 2L * 1024 * 1024 * 1024;
        private int maxTreeEntries = 200_000;
        private Duration timeout = Duration.ofMinutes(2);

        private Builder(String url) {
            this.url = Locations.checked(url, "Subversion repository");
        }

        public Builder credentials(Credentials credentials) {
            this.credentials = Objects.requireNonNull(credentials, "credentials");
            return this;
        }

        /** An export whose files total more is stopped and refused. Default 2 GiB. */
        public Builder maxTreeBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxTreeBytes must be at least 1, but was " + bytes);
            }
            this.maxTreeBytes = bytes;
            return this;
        }

        /** An export with more files is stopped and refused. Default 200,000. */
        public Builder maxTreeEntries(int entries) {
            if (entries < 1) {
                throw new IllegalArgumentException("maxTreeEntries must be at least 1, but was " + entries);
            }
            this.maxTreeEntries = entries;
            return this;
        }

        /** Connect and read timeout. Default 2 minutes. */
        public Builder timeout(Duration timeout) {
            if (timeout == null || timeout.toMillis() < 1000) {
                throw new IllegalArgumentException("timeout must be at least 1 s, but was " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        public SvnSource build() {
            return new SvnSource(new Options(url, credentials, maxTreeBytes, maxTreeEntries, timeout));
        }
    }
}
