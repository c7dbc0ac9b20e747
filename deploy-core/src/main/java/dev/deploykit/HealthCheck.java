package dev.deploykit;

import java.time.Duration;

/**
 * A command that must exit 0 after the action for a node to count as healthy. Tried once, then up to
 * {@code retries} more times with {@code interval} between tries; each try is bounded by the
 * command's own timeout (or the plan's step timeout).
 *
 * @param command the check to run, or null to run the package's own health check (a script bundle's
 *                {@code scripts/health}) with these retries
 */
public record HealthCheck(Command command, int retries, Duration interval) {
    public HealthCheck {
        if (retries < 0) {
            throw new PlanValidationException("healthCheck.retries", "must be >= 0, but was " + retries);
        }
        if (interval == null || interval.isNegative()) {
            throw new PlanValidationException("healthCheck.interval", "must be >= 0, but was " + interval);
        }
    }

    public static HealthCheck of(Command command, int retries, Duration interval) {
        return new HealthCheck(command, retries, interval);
    }

    /** The package's own health check, retried as given. */
    public static HealthCheck ofPackage(int retries, Duration interval) {
        return new HealthCheck(null, retries, interval);
    }
}
