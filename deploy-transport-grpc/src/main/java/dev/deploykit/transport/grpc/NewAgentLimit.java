package dev.deploykit.transport.grpc;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * At most {@code perMinute} new agents (enrollments and first registrations) in any sliding minute,
 * so that one leaked credential cannot flood the fleet with servers. Thread-safe.
 */
final class NewAgentLimit {
    private final int perMinute;
    private final Clock clock;
    /** Guarded by {@code this}: when each admission in the last minute happened. */
    private final Deque<Instant> recent = new ArrayDeque<>();

    NewAgentLimit(int perMinute, Clock clock) {
        this.perMinute = perMinute;
        this.clock = clock;
    }

    /** Takes one admission; false when {@code perMinute} were already taken in the last minute. */
    synchronized boolean tryAdmit() {
        Instant now = clock.instant();
        while (!recent.isEmpty() && !recent.peekFirst().isAfter(now.minus(Duration.ofMinutes(1)))) {
            recent.removeFirst();
        }
        if (recent.size() >= perMinute) {
            return false;
        }
        recent.addLast(now);
        return true;
    }

    int perMinute() {
        return perMinute;
    }
}
