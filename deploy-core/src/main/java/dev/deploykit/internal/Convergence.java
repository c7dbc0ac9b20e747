package dev.deploykit.internal;

import dev.deploykit.Pin;
import dev.deploykit.ReconcileDecision;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.spi.DeploymentRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The reconciler's rules: what to do with one server under one pin, how long a failing server backs
 * off, which deployments are a pin's converging ones, and every decision's text. Pure (no store,
 * threads, clock or logging), so that each rule is a function call; {@link Reconciler} does the I/O.
 */
final class Convergence {
    /** The first wait after a failed convergence; each further failure doubles it, up to {@link #MAX_BACKOFF}. */
    static final Duration FIRST_BACKOFF = Duration.ofSeconds(5);
    static final Duration MAX_BACKOFF = Duration.ofMinutes(10);

    private Convergence() {}

    /** The server's consecutive failures to converge to {@code version}, and when it may be tried again. */
    record Failure(String version, int failures, Instant nextAttempt, String lastError) {}

    /** A decision's kind and text; {@code kind} REPAIR means "include the server in a converging deployment". */
    record Verdict(ReconcileDecision.Kind kind, String message) {}

    /** 5 s, 10 s, 20 s, ... doubling per consecutive failure, never more than 10 minutes. */
    static Duration backoff(int failures) {
        if (failures < 1) {
            return Duration.ZERO;
        }
        // 5 s * 2^7 = 640 s is past the cap already, so the shift never overflows
        Duration d = FIRST_BACKOFF.multipliedBy(1L << Math.min(failures - 1, 7));
        return d.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : d;
    }

    /** The name of the deployments that converge {@code pin}: how any controller recognises them. */
    static String planName(Pin pin) {
        return namePrefix(pin.key()) + pin.version();
    }

    private static String namePrefix(String pinKey) {
        return "converge " + pinKey + " to ";
    }

    /** True when {@code d} is an unfinished converging deployment of the pin {@code pinKey}, of any version. */
    static boolean isConverging(DeploymentRecord d, String pinKey) {
        return !d.status().isTerminal() && d.plan().name().startsWith(namePrefix(pinKey));
    }

    /**
     * Another pin that wants another version of {@code pin}'s package on {@code server}, because the
     * server is in both groups.
     */
    static Optional<Pin> conflict(Pin pin, Server server, Collection<Pin> pins, Map<String, ServerGroup> groups) {
        for (Pin other : pins) {
            ServerGroup g = groups.get(other.group());
            if (!other.group().equals(pin.group()) && other.packageName().equals(pin.packageName())
                    && !other.version().equals(pin.version()) && g != null && g.contains(server)) {
                return Optional.of(other);
            }
        }
        return Optional.empty();
    }

    static String conflictMessage(Pin a, Pin b, String serverId) {
        return "pin " + a.key() + " " + a.version() + " conflicts with pin " + b.key() + " " + b.version()
                + ": server " + serverId + " is in both groups";
    }

    /**
     * What to do with {@code server}, a member of {@code pin}'s group, now.
     *
     * @param held          the server is held out of convergence
     * @param conflict      another pin that wants another version on this server, if any
     * @param failure       its failures to converge so far, or null
     * @param wasConverged  it had the pinned version when last seen, so a difference now is drift
     */
    static Verdict judge(Pin pin, Server server, boolean held, Optional<Pin> conflict, Failure failure, boolean wasConverged,
            Instant now) {
        String installed = server.inventory().get(pin.packageName());
        String id = server.id();
        if (Objects.equals(installed, pin.version())) {
            return new Verdict(ReconcileDecision.Kind.CONVERGED, id + " has " + pin.packageName() + " " + installed + " as pinned");
        }
        String shown = installed == null ? "absent" : installed;
        if (held) {
            return new Verdict(ReconcileDecision.Kind.HELD, id + " is held: leaving " + pin.packageName() + " " + shown
                    + " (pinned " + pin.version() + ")");
        }
        if (server.cordoned()) {
            return new Verdict(ReconcileDecision.Kind.CORDONED, id + " is cordoned: leaving " + pin.packageName() + " " + shown
                    + " (pinned " + pin.version() + ")");
        }
        if (conflict.isPresent()) {
            return new Verdict(ReconcileDecision.Kind.CONFLICT, conflictMessage(pin, conflict.get(), id) + ": left alone");
        }
        if (failure != null && failure.version().equals(pin.version()) && now.isBefore(failure.nextAttempt())) {
            return new Verdict(ReconcileDecision.Kind.BACKING_OFF, id + " is backing off after " + failure.failures()
                    + " failed tries, until " + failure.nextAttempt() + ": " + failure.lastError());
        }
        String why = wasConverged
                ? id + " drifted from " + pin.version() + " to " + shown
                : id + " has " + pin.packageName() + " " + shown + ", pinned " + pin.version();
        return new Verdict(ReconcileDecision.Kind.REPAIR, why + (wasConverged ? ": repairing" : ": converging"));
    }

    /** The failure after one more failed try at {@code now}, given the previous one (or null). */
    static Failure failed(Failure previous, String version, String error, Instant now) {
        int n = previous != null && previous.version().equals(version) ? previous.failures() + 1 : 1;
        return new Failure(version, n, now.plus(backoff(n)), error);
    }

    static String failedMessage(String serverId, Failure f, Instant now) {
        return serverId + " failed to converge to " + f.version() + " (" + f.failures() + " failed tries): " + f.lastError()
                + "; next try in " + Duration.between(now, f.nextAttempt()).toSeconds() + " s";
    }
}
