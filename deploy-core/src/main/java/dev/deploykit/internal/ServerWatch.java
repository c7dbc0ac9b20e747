package dev.deploykit.internal;

import dev.deploykit.Liveness;
import dev.deploykit.LivenessOptions;
import dev.deploykit.Server;
import dev.deploykit.ServerStatusChange;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells status listeners when a server's {@link Liveness} changes, as this controller sees it:
 * {@link #check} compares each server's status now with the one the previous check saw (a pure step,
 * given the servers and the time), {@link #tick} reads the store and calls the listeners. The engine
 * calls {@link #tick} every {@link LivenessOptions#checkEvery()}; it reads nothing while nobody
 * listens, and forgets what it saw, so a later first listener starts from a silent baseline again.
 *
 * <p>Thread-safe: {@link #tick} and {@link #check} run one at a time (synchronized); listeners may be
 * added and removed from any thread.
 */
final class ServerWatch {
    private static final Logger log = LoggerFactory.getLogger(ServerWatch.class);

    private final LivenessOptions options;
    private final List<Consumer<ServerStatusChange>> listeners = new CopyOnWriteArrayList<>();
    /** Status per server at the previous check; null until the baseline check. Guarded by this. */
    private Map<String, Liveness> last;

    ServerWatch(LivenessOptions options) {
        this.options = options;
    }

    AutoCloseable listen(Consumer<ServerStatusChange> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** One check: reads the servers (only while someone listens) and tells every listener each change. */
    synchronized void tick(Supplier<List<Server>> servers, Instant now) {
        if (listeners.isEmpty()) {
            last = null;
            return;
        }
        for (ServerStatusChange change : check(servers.get(), now)) {
            for (Consumer<ServerStatusChange> l : listeners) {
                try {
                    l.accept(change);
                } catch (RuntimeException e) {
                    log.warn("a server status listener failed on {}: {}", change, e.toString());
                }
            }
        }
    }

    /**
     * The changes since the previous check, by server id, and remembers the statuses now. Servers come in the store's order (by id). The first
     * check returns none (it only takes note); removed servers are forgotten without a change.
     */
    synchronized List<ServerStatusChange> check(List<Server> servers, Instant now) {
        boolean baseline = last == null;
        Map<String, Liveness> previous = baseline ? Map.of() : last;
        Map<String, Liveness> current = new HashMap<>();
        List<ServerStatusChange> changes = new ArrayList<>();
        for (Server s : servers) {
            Liveness status = Liveness.of(s, now, options);
            current.put(s.id(), status);
            Liveness before = previous.get(s.id());
            if (!baseline && before != status) {
                changes.add(new ServerStatusChange(s.id(), before, status, s.lastSeen(), now));
            }
        }
        last = current;
        return changes;
    }
}
