package dev.deploykit.source.vcs;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.List;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.eclipse.jgit.transport.SshTransport;
import org.eclipse.jgit.transport.Transport;
import org.eclipse.jgit.transport.sshd.SshdSessionFactory;
import org.eclipse.jgit.transport.sshd.SshdSessionFactoryBuilder;

/**
 * JGit's SSH client (on MINA SSHD) set up for one fetch: the key from the secret, host keys from
 * the configured {@code known_hosts} through {@link KnownHosts}, and nothing from the controller
 * account's {@code ~/.ssh} (no config file, no default identities, no agent). Close it after the fetch.
 */
final class GitSsh implements AutoCloseable {
    private final SshdSessionFactory factory;
    private final KnownHosts knownHosts;

    GitSsh(Path knownHostsFile, boolean trustOnFirstUse, String privateKey, String keyName, Path scratchHome) {
        this.knownHosts = new KnownHosts(knownHostsFile, trustOnFirstUse);
        Iterable<KeyPair> keys = privateKey == null ? List.of() : parse(privateKey, keyName);
        File home = scratchHome.toFile();
        this.factory = new SshdSessionFactoryBuilder()
                .setHomeDirectory(home)
                .setSshDirectory(home)
                .setConfigFile(dir -> new File(home, "no-config"))
                .setDefaultIdentities(dir -> List.of())
                .setDefaultKeysProvider(dir -> keys)
                .setPreferredAuthentications("publickey")
                .setServerKeyDatabase((h, s) -> knownHosts)
                .build(null);
    }

    void configure(Transport transport) {
        if (transport instanceof SshTransport ssh) {
            ssh.setSshSessionFactory(factory);
        }
    }

    String hostKeyRefusal() {
        return knownHosts.refusal();
    }

    private static Iterable<KeyPair> parse(String privateKey, String keyName) {
        try {
            return SecurityUtils.loadKeyPairIdentities(null, NamedResource.ofName("secret " + keyName),
                    new ByteArrayInputStream(privateKey.getBytes(StandardCharsets.UTF_8)), null);
        } catch (IOException | GeneralSecurityException e) {
            // the message is the parser's: about the format, never the key text
            throw new IllegalArgumentException("secret " + keyName + " is not an unencrypted OpenSSH or PEM private key: "
                    + e.getClass().getSimpleName());
        }
    }

    @Override
    public void close() {
        factory.close();
    }
}
