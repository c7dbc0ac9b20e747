package dev.deploykit;

/**
 * Root of every exception DeployKit throws. Unchecked: callers catch the subclass they can act on.
 *
 * <p>Whether an operation may be retried is carried by {@link #retryable()}, never by the message
 * text, so callers and retry policies can decide without parsing strings.
 */
public class DeployException extends RuntimeException {
    private final boolean retryable;

    public DeployException(String message) {
        this(message, null, false);
    }

    public DeployException(String message, Throwable cause) {
        this(message, cause, false);
    }

    protected DeployException(String message, Throwable cause, boolean retryable) {
        super(message, cause);
        this.retryable = retryable;
    }

    /** True when repeating the same call unchanged may succeed (a dropped connection, a busy lock). */
    public boolean retryable() {
        return retryable;
    }
}
