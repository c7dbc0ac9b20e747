package dev.deploykit;

import java.time.Instant;

/**
 * A service on a server changed state, as one controller saw it in the node's reports (see
 * {@link Servers#onService}).
 *
 * @param serverId the server
 * @param from     the service as last reported; null when this controller had not seen it before
 * @param to       the service now; null when it is gone (its bundle was removed)
 * @param at       when this controller recorded it, by its clock
 */
public record ServiceChange(String serverId, ServiceStatus from, ServiceStatus to, Instant at) {
    public ServiceChange {
        Checks.notNull("serverId", serverId);
        Checks.notNull("at", at);
        if (from == null && to == null) {
            throw new IllegalArgumentException("a service change needs a state before or after");
        }
    }
}
