package dev.deploykit;

import java.time.Instant;

/**
 * One node's part of a deployment, as stored.
 *
 * @param taskId          unique id, stable across re-sends so agents can answer from their journal
 * @param batch           batch number, 0-based; the canary batch, when there is one, is batch 0
 * @param step            the step running or last run ({@code before-hooks}, {@code ensure-artifact},
 *                        {@code install}, {@code upgrade}, {@code downgrade}, {@code remove},
 *                        {@code script:NAME}, {@code after-hooks}, {@code health-check}, {@code rollback})
 * @param previousVersion version installed before this task changed the node, null if none
 * @param targetVersion   version this task installs, null for remove and scripts
 * @param changed         true once the action step started on the node
 * @param message         why the task failed or was skipped, empty otherwise
 * @param attempt         1 for the first run, +1 for each {@code retryFailed()}
 */
public record NodeTask(
        String deploymentId,
        String taskId,
        String serverId,
        int batch,
        NodeStatus status,
        String step,
        String previousVersion,
        String targetVersion,
        boolean changed,
        String message,
        int attempt,
        Instant updatedAt) {

    public NodeTask {
        step = step == null ? "" : step;
        message = message == null ? "" : message;
    }

    public NodeTask with(NodeStatus newStatus, String newStep, String newMessage, Instant at) {
        return new NodeTask(deploymentId, taskId, serverId, batch, newStatus, newStep, previousVersion, targetVersion,
                changed, newMessage, attempt, at);
    }

    public NodeTask withPrevious(String version, boolean isChanged) {
        return new NodeTask(deploymentId, taskId, serverId, batch, status, step, version, targetVersion, isChanged,
                message, attempt, updatedAt);
    }

    public NodeTask nextAttempt(Instant at) {
        return new NodeTask(deploymentId, taskId, serverId, batch, NodeStatus.PENDING, "", previousVersion,
                targetVersion, changed, "", attempt + 1, at);
    }
}
