package dev.deploykit;

/**
 * Life cycle of one node's task: {@code PENDING -> DISPATCHED -> RUNNING -> SUCCEEDED | FAILED |
 * CANCELLED | SKIPPED}, and later {@code ROLLED_BACK}. SKIPPED means the node was already at target.
 */
public enum NodeStatus {
    PENDING, DISPATCHED, RUNNING, SUCCEEDED, FAILED, CANCELLED, SKIPPED, ROLLED_BACK;

    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED || this == SKIPPED || this == ROLLED_BACK;
    }
}
