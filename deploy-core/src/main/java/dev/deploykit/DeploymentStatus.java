package dev.deploykit;

/**
 * Life cycle of a deployment: {@code PLANNED -> RUNNING <-> PAUSED -> SUCCEEDED | FAILED | CANCELLED
 * | ROLLED_BACK}. {@code retryFailed()} takes a FAILED deployment back to RUNNING.
 */
public enum DeploymentStatus {
    PLANNED, RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK;

    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED || this == ROLLED_BACK;
    }
}
