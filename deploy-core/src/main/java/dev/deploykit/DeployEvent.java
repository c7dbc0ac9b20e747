package dev.deploykit;

import java.time.Instant;
import java.util.List;
import java.util.Map;

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

    /**
     * A node has the artifact of its task's package. {@code relay} is the relay agent it was told to
     * fetch it from, or null when from the controller: over a batch's events these edges are the
     * batch's fan-out tree. {@code controllerBytes} is what the controller sent for it (0 when the node
     * had it or a relay sent it all; -1 where a transport does not count: the agent, SSH and local
     * transports do),
     * so their sum is the deployment's controller egress; {@code relayBytes} is what each relay sent.
     */
    record ArtifactFetched(String deploymentId, long seq, Instant time, String serverId, String taskId, String sha256, long size,
            String relay, long controllerBytes, Map<String, Long> relayBytes) implements DeployEvent {
        public ArtifactFetched {
            relayBytes = Map.copyOf(relayBytes);
        }
    }
}
