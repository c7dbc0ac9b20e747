package dev.deploykit.source.vcs;

import dev.deploykit.SourceException;
import dev.deploykit.spi.SecretSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jgit.api.TransportCommand;
import org.eclipse.jgit.transport.CredentialsProvider;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;

/**
 * What one ls-remote or fetch needs to log in: the credentials resolved from their secrets just now,
 * and for SSH a client that checks host keys. Dropped (and the SSH client closed) right after; the
 * secret's value is kept only to mask it out of error messages.
 */
final class GitConnection implements AutoCloseable {
    private final GitSource.Options options;
    private final CredentialsProvider credentials;
    private final String secretValue;
    private final GitSsh ssh;
    private final Path sshHome;

    GitConnection(GitSource.Options options, SecretSource secrets) {
        this.options = options;
        String value = null;
        CredentialsProvider provider = null;
        String key = null;
        String keyName = null;
        if (options.credentials() instanceof Credentials.Password p) {
            value = Credentials.value(secrets, p.secret());
            provider = new UsernamePasswordCredentialsProvider(p.user(), value);
        } else if (options.credentials() instanceof Credentials.SshKey k) {
            value = Credentials.value(secrets, k.privateKey());
            key = value;
            keyName = k.privateKey().name();
        }
        this.secretValue = value;
        this.credentials = provider;
        if (isSsh(options.url())) {
            try {
                this.sshHome = Files.createTempDirectory("deploykit-git-ssh-");
            } catch (IOException e) {
                throw new SourceException(options.url(), SourceException.Reason.UNREACHABLE, "cannot set up the SSH client: " + e.getMessage());
            }
            this.ssh = new GitSsh(options.knownHosts(), options.trustOnFirstUse(), key, keyName, sshHome);
        } else {
            this.sshHome = null;
            this.ssh = null;
        }
    }

    static boolean isSsh(String url) {
        return url.startsWith("ssh://") || url.startsWith("git+ssh://") || !url.contains("://") && url.matches("[^/]+@[^/:]+:.*");
    }

    /** {@code command} with these credentials, the SSH client and the timeout. */
    <C extends TransportCommand<C, ?>> C apply(C command) {
        command.setTimeout((int) options.timeout().toSeconds());
        if (credentials != null) {
            command.setCredentialsProvider(credentials);
        }
        if (ssh != null) {
            command.setTransportConfigCallback(ssh::configure);
        }
        return command;
    }

    /** {@code e} as a {@link SourceException} with its reason, masked. */
    SourceException error(Exception e) {
        if (e instanceof SourceException s) {
            return s;
        }
        return GitErrors.translate(options.url(), e, secretValue, ssh == null ? null : ssh.hostKeyRefusal());
    }

    @Override
    public void close() {
        if (ssh != null) {
            ssh.close();
            sshHome.toFile().delete();
        }
    }
}
