package dev.deploykit;

import java.time.Duration;
import java.time.Instant;

/**
 * Whether a server answers, judged from {@link Server#lastSeen()} alone: the time of the last
 * heartbeat an agent sent to any controller on the store, or of the last answer an SSH or local node
 * gave (a {@link Servers#refresh refresh} or a step). Because the rule reads only the stored time,
 * every controller on one store computes the same status for a server, whichever of them holds its
 * agent's connection.
 *
 * <table>
 *   <caption>The rule, with {@code age = now - lastSeen}</caption>
 *   <tr><th>status</th><th>when</th></tr>
 *   <tr><td>{@link #ONLINE}</td><td>{@code age < staleAfter} (a lastSeen ahead of {@code now}, clock skew, counts as age 0)</td></tr>
 *   <tr><td>{@link #STALE}</td><td>{@code staleAfter <= age < offlineAfter}</td></tr>
 *   <tr><td>{@link #OFFLINE}</td><td>{@code age >= offlineAfter}, or never seen ({@code lastSeen} null)</td></tr>
 * </table>
 */
public enum Liveness {
    /** Heard from recently: heartbeats (or answers) arrive as expected. */
    ONLINE,
    /** Missed a few heartbeats: the connection may be slow or broken; work sent to it may wait. */
    STALE,
    /** Not heard from for {@link LivenessOptions#offlineAfter()}: the node or its agent is down, or cut off. */
    OFFLINE;

    /** The status of {@code server} at {@code now} under {@code options}' thresholds. */
    public static Liveness of(Server server, Instant now, LivenessOptions options) {
        return of(server.lastSeen(), now, options);
    }

    /** The status of a server last seen at {@code lastSeen} (null: never) at {@code now}. */
    public static Liveness of(Instant lastSeen, Instant now, LivenessOptions options) {
        if (lastSeen == null) {
            return OFFLINE;
        }
        Duration age = Duration.between(lastSeen, now);
        if (age.compareTo(options.staleAfter()) < 0) {
            return ONLINE;
        }
        return age.compareTo(options.offlineAfter()) < 0 ? STALE : OFFLINE;
    }
}
