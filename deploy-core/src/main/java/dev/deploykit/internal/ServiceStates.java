package dev.deploykit.internal;

import dev.deploykit.ServiceChange;
import dev.deploykit.ServiceStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each node last said of its services, and the listeners told when one changes state. In
 * memory, per controller: a node's reports go to the controller it is connected to. Thread-safe.
 */
final class ServiceStates {
    private static final Logger log = LoggerFactory.getLogger(ServiceStates.class);
    private final Map<String, Map<String, ServiceStatus>> byServer = new ConcurrentHashMap<>();
    private final List<Consumer<ServiceChange>> listeners = new CopyOnWriteArrayList<>();

    List<ServiceStatus> of(String serverId) {
        return List.copyOf(byServer.getOrDefault(serverId, Map.of()).values());
    }

    /** Takes {@code services} as all of {@code serverId}'s, then tells listeners what changed state. */
    void record(String serverId, List<ServiceStatus> services, Instant at) {
        Map<String, ServiceStatus> now = new LinkedHashMap<>();
        services.forEach(s -> now.put(s.name(), s));
        Map<String, ServiceStatus> before = byServer.put(serverId, Map.copyOf(now));
        before = before == null ? Map.of() : before;
        List<ServiceChange> changes = new ArrayList<>();
        for (ServiceStatus s : services) {
            ServiceStatus was = before.get(s.name());
            if (was == null || was.state() != s.state() || was.pid() != s.pid() || was.oomKills() != s.oomKills()) {
                changes.add(new ServiceChange(serverId, was, s, at));
            }
        }
        before.values().stream().filter(s -> !now.containsKey(s.name())).forEach(s -> changes.add(new ServiceChange(serverId, s, null, at)));
        for (ServiceChange c : changes) {
            log.info("{}: service {}", serverId, c.to() != null ? c.to() : c.from().name() + " gone");
            for (Consumer<ServiceChange> l : listeners) {
                try {
                    l.accept(c);
                } catch (RuntimeException e) {
                    log.warn("a service listener failed on {}: {}", c, e.toString());
                }
            }
        }
    }

    void forget(String serverId) {
        byServer.remove(serverId);
    }

    AutoCloseable listen(Consumer<ServiceChange> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return () -> listeners.remove(listener);
    }
}
