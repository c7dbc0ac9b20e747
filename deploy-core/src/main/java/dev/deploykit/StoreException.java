package dev.deploykit;

/**
 * The store refused or failed an operation. A conflict (duplicate key, stale write) is not retryable;
 * a lost database connection is.
 */
public class StoreException extends DeployException {
    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause, boolean retryable) {
        super(message, cause, retryable);
    }
}
