package dev.deploykit;

/**
 * Another controller has taken this deployment over (its lease here ran out), so this controller's
 * writes for it are refused. The controller stops working on the deployment; the new owner goes on.
 */
public class LeaseLostException extends StoreException {
    public LeaseLostException(String message) {
        super(message);
    }
}
