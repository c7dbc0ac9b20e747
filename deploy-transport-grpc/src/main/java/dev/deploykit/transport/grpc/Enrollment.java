package dev.deploykit.transport.grpc;

import java.net.SocketAddress;
import java.util.Collection;
import java.util.Map;
import java.util.Set;

/**
 * Decides who a new agent becomes: an enrolling agent (one with no certificate yet) asks for an id;
 * the policy approves an id, refuses, or leaves the request pending for an operator. Called by the
 * gateway only after the request's enrollment token was accepted. Implementations must be
 * thread-safe.
 *
 * <pre>{@code
 * Enrollment.allowList(Set.of("web-1", "web-2", "db-1"))   // production: known ids only
 * Enrollment.manual()                                       // production: an operator approves each
 * Enrollment.autoApprove()                                  // demos: anyone with a token
 * }</pre>
 */
@FunctionalInterface
public interface Enrollment {
    /** What the enrolling agent said about itself, and where it connected from. None of it is proven. */
    record Request(String requestedId, String hostname, Map<String, String> labels, SocketAddress remote) {}

    /** The outcome: approved under {@code agentId}, refused with a reason, or pending an operator. */
    sealed interface Decision {
        record Approved(String agentId) implements Decision {}

        record Refused(String reason) implements Decision {}

        record Pending(String reason) implements Decision {}
    }

    Decision decide(Request request);

    /** Approves every request under the id it asks for. For demos and tests: anyone holding a token becomes any new id. */
    static Enrollment autoApprove() {
        return r -> new Decision.Approved(r.requestedId());
    }

    /** Approves only the listed ids. */
    static Enrollment allowList(Collection<String> ids) {
        Set<String> allowed = Set.copyOf(ids);
        return r -> allowed.contains(r.requestedId()) ? new Decision.Approved(r.requestedId())
                : new Decision.Refused("agent id '" + r.requestedId() + "' is not on the enrollment allow-list");
    }

    /** Leaves every request pending until an operator approves it (see {@link ManualEnrollment}). */
    static ManualEnrollment manual() {
        return new ManualEnrollment(100);
    }
}
