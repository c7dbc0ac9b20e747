package dev.deploykit.transport.ssh;

import java.net.SocketAddress;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.client.config.hosts.KnownHostEntry;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.keyverifier.KnownHostsServerKeyVerifier;
import org.apache.sshd.client.keyverifier.RejectAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.config.keys.KeyUtils;

/**
 * Host key checking against an OpenSSH {@code known_hosts} file (plain and hashed entries,
 * {@code [host]:port} forms), through MINA's own parser. Strict by default: an unknown key is
 * refused; with trust-on-first-use an unknown key is accepted and appended to the file. A changed
 * key is always refused. Why a key was refused is kept here, by session, for the error message:
 * not as a session attribute, because MINA may clear those while closing the refused session.
 */
final class HostKeyPolicy extends KnownHostsServerKeyVerifier {
    private final Path file;
    private final Map<ClientSession, String> refusals = new ConcurrentHashMap<>();

    HostKeyPolicy(Path file, boolean trustOnFirstUse) {
        super(trustOnFirstUse ? AcceptAllServerKeyVerifier.INSTANCE : RejectAllServerKeyVerifier.INSTANCE, file);
        this.file = file;
        setModifiedServerKeyAcceptor(this);
    }

    @Override
    public boolean acceptModifiedServerKey(ClientSession session, SocketAddress remote, KnownHostEntry entry,
            PublicKey expected, PublicKey actual) {
        refusals.put(session, "host key of " + remote + " has changed: " + file + " has "
                + KeyUtils.getFingerPrint(expected) + " but the server offered " + KeyUtils.getFingerPrint(actual)
                + ". If the host was reinstalled, remove its old entry (ssh-keygen -R); otherwise this may be an attack");
        return false;
    }

    @Override
    protected boolean acceptIncompleteHostKeys(ClientSession session, SocketAddress remote, PublicKey key, Throwable reason) {
        refusals.put(session, "host key " + KeyUtils.getFingerPrint(key) + " of " + remote + " is not in " + file
                + " (the file could not be read: " + reason + "); fix the file or add the key with ssh-keyscan");
        return false;
    }

    @Override
    protected boolean acceptUnknownHostKey(ClientSession session, SocketAddress remote, PublicKey key) {
        boolean accepted = super.acceptUnknownHostKey(session, remote, key);
        if (!accepted) {
            refusals.put(session, "host key " + KeyUtils.getFingerPrint(key) + " of " + remote + " is not in "
                    + file + "; add it (ssh-keyscan) or enable trust-on-first-use explicitly");
        }
        return accepted;
    }

    /** Why the host key of this session was refused, or null if it was not; forgets it. */
    String takeRefusal(ClientSession session) {
        return refusals.remove(session);
    }
}
