package dev.deploykit.source.vcs;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.sshd.client.config.hosts.KnownHostEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.eclipse.jgit.transport.CredentialsProvider;
import org.eclipse.jgit.transport.sshd.ServerKeyDatabase;

/**
 * Host key checking for git over SSH, with the rules of the SSH transport's {@code HostKeyPolicy}:
 * an OpenSSH {@code known_hosts} file (plain and hashed entries, {@code [host]:port}), strict by
 * default (an unknown key is refused), trust-on-first-use only when asked (the key is appended),
 * and a changed key always refused. Why a key was refused is kept for the error message. One per
 * fetch; not shared between threads.
 */
final class KnownHosts implements ServerKeyDatabase {
    private final Path file;
    private final boolean trustOnFirstUse;
    private volatile String refusal;

    KnownHosts(Path file, boolean trustOnFirstUse) {
        this.file = file;
        this.trustOnFirstUse = trustOnFirstUse;
    }

    @Override
    public List<PublicKey> lookup(String connectAddress, InetSocketAddress remoteAddress, Configuration config) {
        List<PublicKey> keys = new ArrayList<>();
        for (KnownHostEntry e : matching(connectAddress)) {
            PublicKey key = key(e);
            if (key != null) {
                keys.add(key);
            }
        }
        return keys;
    }

    @Override
    public boolean accept(String connectAddress, InetSocketAddress remoteAddress, PublicKey serverKey, Configuration config,
            CredentialsProvider provider) {
        List<KnownHostEntry> entries = matching(connectAddress);
        for (KnownHostEntry e : entries) {
            if (KeyUtils.compareKeys(key(e), serverKey)) {
                return true;
            }
        }
        String fingerprint = KeyUtils.getFingerPrint(serverKey);
        if (!entries.isEmpty()) {
            refusal = "host key of " + connectAddress + " has changed: " + file + " has another key but the server offered " + fingerprint
                    + ". If the host was reinstalled, remove its old entry (ssh-keygen -R); otherwise this may be an attack";
            return false;
        }
        if (trustOnFirstUse) {
            append(connectAddress, serverKey);
            return true;
        }
        refusal = "host key " + fingerprint + " of " + connectAddress + " is not in " + file
                + "; add it (ssh-keyscan) or enable trust-on-first-use explicitly";
        return false;
    }

    /** Why the server's key was refused, or null. */
    String refusal() {
        return refusal;
    }

    private List<KnownHostEntry> matching(String connectAddress) {
        String host = connectAddress;
        int port = 22;
        if (connectAddress.startsWith("[")) {
            int close = connectAddress.indexOf(']');
            host = connectAddress.substring(1, close);
            port = Integer.parseInt(connectAddress.substring(close + 2));
        }
        List<KnownHostEntry> found = new ArrayList<>();
        try {
            if (Files.isRegularFile(file)) {
                for (KnownHostEntry e : KnownHostEntry.readKnownHostEntries(file)) {
                    if (e.isHostMatch(host, port) && !"@revoked".equals(e.getMarker())) {
                        found.add(e);
                    }
                }
            }
        } catch (IOException e) {
            refusal = "cannot read " + file + ": " + e.getMessage();
            throw new IllegalStateException(refusal, e);
        }
        return found;
    }

    private static PublicKey key(KnownHostEntry e) {
        try {
            return e.getKeyEntry().resolvePublicKey(null, Map.of(), PublicKeyEntryResolver.IGNORING);
        } catch (IOException | java.security.GeneralSecurityException ex) {
            return null;
        }
    }

    private void append(String connectAddress, PublicKey key) {
        StringBuilder line = new StringBuilder(connectAddress).append(' ');
        try {
            PublicKeyEntry.appendPublicKeyEntry(line, key);
            Files.writeString(file, line.append('\n'), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException("cannot add the host key of " + connectAddress + " to " + file + ": " + e.getMessage(), e);
        }
    }
}
