package dev.deploykit;

import java.time.Instant;
import java.util.List;

/**
 * Something that happened in a deployment. Every event carries the deployment id and a sequence
 * number that is gap-free and strictly increasing within the deployment, so the event log is an
 * audit trail from which the status can be derived. Switch over the permitted records:
 *
 * <pre>{@code
 * switch (event) {
 *     case DeployEvent.NodeStatusChanged n -> ...
 *     default -> {}
 * }
 * }</pre>
 * (or {@code instanceof} patterns on Java 17).
 */
public sealed interface DeployEvent {
    String deploymentId();

    long seq();

    Instant time();

    /** The deployment moved to {@code status}; {@code reason} says why when it is not obvious. */
    record DeploymentStatusChanged(String deploymentId, long seq, Instant time, DeploymentStatus status, String reason)
            implements DeployEvent {}

    /** A batch started; {@code canary} is true for the canary batch. */
    record BatchStarted(String deploymentId, long seq, Instant time, int batch, boolean canary, List<String> servers)
            implements DeployEvent {
        public BatchStarted {
            servers = List.copyOf(servers);
        }
    }

    /** A batch ended with these counts of node outcomes. */
    record BatchFinished(String deploymentId, long seq, Instant time, int batch, int succeeded, int failed, int skipped)
            implements DeployEvent {}

    /** A node task changed status or step. */
    record NodeStatusChanged(String deploymentId, long seq, Instant time, String serverId, String taskId,
            NodeStatus status, String step, String message) implements DeployEvent {}

    /** One line a step wrote on a node ({@code stream} is {@code stdout} or {@code stderr}). */
    record NodeOutput(String deploymentId, long seq, Instant time, String serverId, String taskId, String step,
            String stream, String line) implements DeployEvent {}
}
