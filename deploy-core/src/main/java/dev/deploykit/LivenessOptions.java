package dev.deploykit;

import java.time.Duration;

/**
 * Thresholds of the {@link Liveness} rule and how often a controller looks for changes, set with
 * {@link DeployKit.Builder#liveness(LivenessOptions)}. Controllers that share a store should use the
 * same thresholds, so that they agree on every server's status.
 *
 * <pre>{@code
 * DeployKit.builder().liveness(new LivenessOptions(Duration.ofSeconds(30), Duration.ofMinutes(2), Duration.ofSeconds(5)))
 * }</pre>
 *
 * @param staleAfter   a server not heard from for this long is {@link Liveness#STALE}; default 30 s,
 *                     three of the gateway's default 10 s heartbeats (keep it above the gateway's
 *                     heartbeat plus its last-seen flush interval, or healthy agents flicker)
 * @param offlineAfter a server not heard from for this long is {@link Liveness#OFFLINE}; default 2 min
 * @param checkEvery   how often the controller compares every server's status with the last one it
 *                     saw, to tell {@link Servers#onStatus status listeners}; default 5 s
 */
public record LivenessOptions(Duration staleAfter, Duration offlineAfter, Duration checkEvery) {

    public LivenessOptions {
        Checks.notNull("staleAfter", staleAfter);
        Checks.notNull("offlineAfter", offlineAfter);
        Checks.notNull("checkEvery", checkEvery);
        if (staleAfter.isNegative() || staleAfter.isZero()) {
            throw new IllegalArgumentException("staleAfter must be positive, but was " + staleAfter);
        }
        if (offlineAfter.compareTo(staleAfter) <= 0) {
            throw new IllegalArgumentException("offlineAfter must be longer than staleAfter (" + staleAfter + "), but was " + offlineAfter);
        }
        if (checkEvery.isNegative() || checkEvery.isZero()) {
            throw new IllegalArgumentException("checkEvery must be positive, but was " + checkEvery);
        }
    }

    /** STALE after 30 s, OFFLINE after 2 min, checked every 5 s. */
    public static LivenessOptions defaults() {
        return new LivenessOptions(Duration.ofSeconds(30), Duration.ofMinutes(2), Duration.ofSeconds(5));
    }
}
