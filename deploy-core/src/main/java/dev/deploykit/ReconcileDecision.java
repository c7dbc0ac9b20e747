package dev.deploykit;

import java.time.Instant;

/**
 * One thing the reconciler decided about one server and one pin, with its reason in words, e.g.
 * {@code "web-3 drifted from 2.3.1 to absent: repairing"}. Kept in {@link DesiredState#decisions()}.
 *
 * @param at           when, by the DeployKit's clock
 * @param kind         what was decided
 * @param pin          the pin's key, {@code group/package}
 * @param serverId     the server
 * @param installed    the version the inventory had, null when absent
 * @param pinned       the pinned version
 * @param deploymentId the converging deployment started or observed, null when none
 * @param message      the decision in words
 */
public record ReconcileDecision(Instant at, Kind kind, String pin, String serverId, String installed, String pinned,
        String deploymentId, String message) {

    public enum Kind {
        /** The server differs from its pin and a converging deployment was started for it. */
        REPAIR,
        /** The server's convergence failed; it backs off before the next try. */
        FAILED,
        /** The server differs, but is still backing off after failures. */
        BACKING_OFF,
        /** The server differs, but is held out of convergence ({@link DesiredState#hold}). */
        HELD,
        /** The server differs, but is cordoned ({@link Servers#cordon}): no new deployment goes to it. */
        CORDONED,
        /** The server is in two groups whose pins want different versions of the package: left alone. */
        CONFLICT,
        /** The server reached its pinned version (after a repair, or by itself). */
        CONVERGED,
        /** The converging deployment could not be started (the reason says why). */
        ERROR
    }
}
