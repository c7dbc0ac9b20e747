package dev.deploykit;

import java.time.Instant;

/**
 * A server's {@link Liveness} changed, as one controller saw it (see {@link Servers#onStatus}).
 *
 * @param serverId the server
 * @param from     its status at this controller's previous check; null when the controller had not
 *                 seen the server before (it was registered since)
 * @param to       its status now
 * @param lastSeen the stored time it was last heard from, or null
 * @param at       when this controller noticed, by its clock
 */
public record ServerStatusChange(String serverId, Liveness from, Liveness to, Instant lastSeen, Instant at) {
    public ServerStatusChange {
        Checks.notNull("serverId", serverId);
        Checks.notNull("to", to);
        Checks.notNull("at", at);
    }
}
