package dev.deploykit.source.vcs;

import dev.deploykit.NotFoundException;
import dev.deploykit.Secret;
import dev.deploykit.spi.SecretSource;
import java.util.Objects;

/**
 * How a source logs in to its server: by {@link Secret} references, resolved from the kit's
 * {@link SecretSource} at each fetch and never kept, logged or shown.
 *
 * <pre>{@code
 * Credentials.token(Secret.of("shop-token"))                       // HTTPS: the token as the password
 * Credentials.password("deployer", Secret.of("svn-password"))      // HTTPS or svn://
 * Credentials.sshKey(Secret.of("shop-deploy-key"))                 // SSH (user in the URL): a private key in the secret
 * }</pre>
 */
public sealed interface Credentials {
    /** Anonymous access. */
    static Credentials none() {
        return None.INSTANCE;
    }

    /** An access token, sent as the password of HTTP basic authentication with the user name {@code token}. */
    static Credentials token(Secret token) {
        return new Password("token", token);
    }

    /** A user name and password (HTTP basic, svnserve's CRAM-MD5). */
    static Credentials password(String user, Secret password) {
        return new Password(user, password);
    }

    /** An SSH private key (OpenSSH or PEM text, unencrypted) held in a secret; the user is the URL's ({@code ssh://git@host/repo}). */
    static Credentials sshKey(Secret privateKey) {
        return new SshKey(privateKey);
    }

    /** No credentials. */
    enum None implements Credentials {
        INSTANCE
    }

    /** A user and a password or token. */
    record Password(String user, Secret secret) implements Credentials {
        public Password {
            requireUser(user);
            Objects.requireNonNull(secret, "secret");
        }
    }

    /** An SSH private key. */
    record SshKey(Secret privateKey) implements Credentials {
        public SshKey {
            Objects.requireNonNull(privateKey, "privateKey");
        }
    }

    private static void requireUser(String user) {
        if (user == null || user.isBlank() || user.contains(":")) {
            throw new IllegalArgumentException("a user name without ':' is needed, but was '" + user + "'");
        }
    }

    /** The value of {@code secret} now; an unknown one is a {@link NotFoundException} naming it (never a value). */
    static String value(SecretSource secrets, Secret secret) {
        return secrets.lookup(secret.name()).orElseThrow(() -> new NotFoundException("secret", secret.name()));
    }
}
