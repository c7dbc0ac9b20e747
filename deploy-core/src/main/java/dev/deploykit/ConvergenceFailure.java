package dev.deploykit;

import java.time.Instant;

/**
 * A server whose convergence to a pin keeps failing, as {@link DesiredState#failing()} reports it.
 *
 * @param pin         the pin's key, {@code group/package}
 * @param serverId    the server
 * @param failures    consecutive failed tries
 * @param nextAttempt the earliest time the reconciler tries again
 * @param lastError   why the last try failed
 */
public record ConvergenceFailure(String pin, String serverId, int failures, Instant nextAttempt, String lastError) {}
