package dev.deploykit;

/**
 * Reaching or talking to a node failed. {@link #retryable()} tells whether the same call may work
 * later (connection refused, timeout) or not (host key mismatch, authentication refused).
 */
public class TransportException extends DeployException {
    private final String serverId;

    public TransportException(String serverId, String message, Throwable cause, boolean retryable) {
        super("server " + serverId + ": " + message, cause, retryable);
        this.serverId = serverId;
    }

    /** The server the failure concerns. */
    public String serverId() {
        return serverId;
    }
}
