package dev.deploykit;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Life cycle of a deployment: {@code PLANNED -> RUNNING <-> PAUSED -> SUCCEEDED | FAILED | CANCELLED
 * | ROLLED_BACK}. {@code retryFailed()} takes a FAILED or SUCCEEDED deployment back to RUNNING.
 *
 * <p>The engine records only the moves {@link #canMoveTo} allows:
 *
 * <table>
 * <caption>Legal moves</caption>
 * <tr><th>from</th><th>to</th></tr>
 * <tr><td>PLANNED</td><td>RUNNING, PAUSED, FAILED</td></tr>
 * <tr><td>RUNNING</td><td>RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK</td></tr>
 * <tr><td>PAUSED</td><td>RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK</td></tr>
 * <tr><td>SUCCEEDED, FAILED</td><td>RUNNING, PAUSED ({@code retryFailed()} reopens them)</td></tr>
 * <tr><td>CANCELLED, ROLLED_BACK</td><td>none</td></tr>
 * </table>
 */
public enum DeploymentStatus {
    PLANNED, RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK;

    private static final Map<DeploymentStatus, Set<DeploymentStatus>> MOVES = new EnumMap<>(DeploymentStatus.class);

    static {
        // the run starts; a pause() can come before the run records RUNNING; an internal error can
        // stop the run before it started
        MOVES.put(PLANNED, EnumSet.of(RUNNING, PAUSED, FAILED));
        // RUNNING -> RUNNING: a rollback starts with its own reason, a restart continues a run, a
        // resume() comes while a rollback runs. Every end is reachable from RUNNING and from PAUSED:
        // running nodes finish while paused, and a cancel, a halt or a rollback does not wait for resume()
        MOVES.put(RUNNING, EnumSet.of(RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK));
        // PAUSED -> PAUSED: a successful canary waits for promotion after a pause() during the canary
        MOVES.put(PAUSED, EnumSet.of(RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK));
        // retryFailed() reopens these; a pause() can come before the run records RUNNING
        MOVES.put(SUCCEEDED, EnumSet.of(RUNNING, PAUSED));
        MOVES.put(FAILED, EnumSet.of(RUNNING, PAUSED));
        // final: a cancelled or rolled-back deployment cannot be retried
        MOVES.put(CANCELLED, EnumSet.noneOf(DeploymentStatus.class));
        MOVES.put(ROLLED_BACK, EnumSet.noneOf(DeploymentStatus.class));
    }

    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED || this == ROLLED_BACK;
    }

    /** True when a deployment in this status may move to {@code to} (see the table above). */
    public boolean canMoveTo(DeploymentStatus to) {
        return MOVES.get(this).contains(to);
    }
}
