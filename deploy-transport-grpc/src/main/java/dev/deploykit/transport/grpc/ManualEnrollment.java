package dev.deploykit.transport.grpc;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An {@link Enrollment} policy where an operator approves each new agent: a request stays pending
 * (the agent asks again every few seconds) until {@link #approve(String)} or {@link #refuse(String)}.
 * At most {@code maxPending} requests wait at once; more are refused, so a flood of enrollment
 * attempts cannot grow the list without bound. Thread-safe.
 */
public final class ManualEnrollment implements Enrollment {
    private final int maxPending;
    /** Guarded by {@code this}: requested id to the latest request under it. */
    private final Map<String, Request> pending = new LinkedHashMap<>();
    /** Guarded by {@code this}: ids an operator approved or refused, to tell the agent on its next ask. */
    private final Map<String, Decision> decided = new LinkedHashMap<>();

    ManualEnrollment(int maxPending) {
        this.maxPending = maxPending;
    }

    /** The same policy with another bound on pending requests. */
    public ManualEnrollment maxPending(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("maxPending must be >= 1, but was " + max);
        }
        return new ManualEnrollment(max);
    }

    @Override
    public synchronized Decision decide(Request request) {
        Decision done = decided.remove(request.requestedId());
        if (done != null) {
            return done;
        }
        if (!pending.containsKey(request.requestedId()) && pending.size() >= maxPending) {
            return new Decision.Refused("too many enrollments are waiting for approval (at most " + maxPending + ")");
        }
        pending.put(request.requestedId(), request);
        return new Decision.Pending("waiting for an operator to approve agent '" + request.requestedId() + "'");
    }

    /** Requests waiting for a decision, oldest first. */
    public synchronized List<Request> pending() {
        return List.copyOf(pending.values());
    }

    /** Approves the pending request for {@code agentId}; false when none is pending. */
    public synchronized boolean approve(String agentId) {
        return decide(agentId, new Decision.Approved(agentId));
    }

    /** Refuses the pending request for {@code agentId}; false when none is pending. */
    public synchronized boolean refuse(String agentId) {
        return decide(agentId, new Decision.Refused("an operator refused agent '" + agentId + "'"));
    }

    private boolean decide(String agentId, Decision decision) {
        if (pending.remove(agentId) == null) {
            return false;
        }
        decided.put(agentId, decision);
        return true;
    }
}
