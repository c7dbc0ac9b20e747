package dev.deploykit;

import java.time.Instant;

/**
 * One change to the desired state, as kept in its history ({@link DesiredState#history()}).
 *
 * @param at          when
 * @param actor       who made it ({@link DesiredState#as})
 * @param kind        what happened
 * @param group       the pin's group (PIN, UNPIN), null for HOLD and RELEASE
 * @param packageName the pin's package (PIN, UNPIN), null for HOLD and RELEASE
 * @param version     the version pinned (PIN) or the one that was pinned (UNPIN); null for HOLD and RELEASE
 * @param serverId    the server held or released (HOLD, RELEASE), null otherwise
 */
public record PinChange(Instant at, String actor, Kind kind, String group, String packageName, String version, String serverId) {

    public enum Kind {
        /** A pin was set or changed. */
        PIN,
        /** A pin was removed: the reconciler leaves the package alone on the group from then on. */
        UNPIN,
        /** A server was excluded from convergence. */
        HOLD,
        /** A held server was included again. */
        RELEASE
    }

    public PinChange {
        Checks.notNull("at", at);
        Checks.notNull("kind", kind);
        actor = actor == null ? "" : actor;
    }
}
