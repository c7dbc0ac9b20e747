package dev.deploykit.server;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the REST API keeps of its own: the audit of who did what, and the responses of writes made
 * under an {@code Idempotency-Key}. On PostgreSQL ({@link PostgresApiRecords}) every server process
 * on the database shares them; in memory ({@link MemoryApiRecords}) they last as long as the process.
 */
interface ApiRecords {
    /**
     * One action: who ({@code actor}, the token's name), what ({@code action}, e.g.
     * {@code deployment.cancel}), on what, and the HTTP status it got.
     */
    record AuditEntry(long seq, Instant at, String actor, String action, String target, int status, String detail) {}

    /** A response kept for an idempotency key; {@code status} 0 while the first request is still running. */
    record Kept(String request, int status, String body) {}

    void audit(Instant at, String actor, String action, String target, int status, String detail);

    /** Audit entries after {@code afterSeq}, oldest first, at most {@code limit}. */
    List<AuditEntry> audit(long afterSeq, int limit);

    /** Who started each of these deployments through the API (a successful {@code deployment.start}); absent ones were not. */
    Map<String, String> starters(Collection<String> deploymentIds);

    /**
     * Claims {@code key} for {@code actor}'s request: empty when this call is the first (run it, then
     * {@link #complete}), else what the first one left.
     */
    Optional<Kept> claim(String actor, String key, String request, Instant now);

    void complete(String actor, String key, int status, String body);

    /** Forgets a claim whose request failed before it had a response worth keeping. */
    void release(String actor, String key);

    /** One webhook delivery: which event, how many attempts so far, what the last one got. */
    record Delivery(String webhook, String deploymentId, long seq, String eventType, String claimedBy, int attempts, int status,
            String error, boolean delivered, Instant updatedAt) {}

    /** Claims the delivery of an event to a webhook: true for the first caller, on any server process. */
    boolean claimDelivery(String webhook, String deploymentId, long seq, String eventType, String claimedBy, Instant now);

    /** Records an attempt's outcome. */
    void recordAttempt(String webhook, String deploymentId, long seq, int attempts, int status, String error, boolean delivered,
            Instant now);

    /** The most recent deliveries, newest first, at most {@code limit}. */
    List<Delivery> deliveries(int limit);
}
