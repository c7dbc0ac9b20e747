package dev.deploykit.server;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Optional;

/** {@link ApiRecords} in this process's memory, for the in-memory demo mode. Thread-safe (synchronized). */
final class MemoryApiRecords implements ApiRecords {
    private final List<AuditEntry> audit = new ArrayList<>();
    private final Map<String, Kept> kept = new HashMap<>();
    private final Map<String, Delivery> deliveries = new java.util.LinkedHashMap<>();

    @Override
    public synchronized void audit(Instant at, String actor, String action, String target, int status, String detail) {
        audit.add(new AuditEntry(audit.size() + 1, at, actor, action, target, status, detail));
    }

    @Override
    public synchronized Map<String, String> starters(Collection<String> deploymentIds) {
        Set<String> wanted = Set.copyOf(deploymentIds);
        Map<String, String> out = new HashMap<>();
        audit.stream().filter(e -> e.action().equals("deployment.start") && e.status() == 201 && wanted.contains(e.target()))
                .forEach(e -> out.put(e.target(), e.actor()));
        return out;
    }

    @Override
    public synchronized List<AuditEntry> audit(long afterSeq, int limit) {
        return audit.stream().filter(e -> e.seq() > afterSeq).limit(limit).toList();
    }

    @Override
    public synchronized Optional<Kept> claim(String actor, String key, String request, Instant now) {
        Kept k = kept.putIfAbsent(actor + "\n" + key, new Kept(request, 0, ""));
        return Optional.ofNullable(k);
    }

    @Override
    public synchronized void complete(String actor, String key, int status, String body) {
        kept.computeIfPresent(actor + "\n" + key, (k, v) -> new Kept(v.request(), status, body));
    }

    @Override
    public synchronized void release(String actor, String key) {
        kept.remove(actor + "\n" + key);
    }

    @Override
    public synchronized boolean claimDelivery(String webhook, String deploymentId, long seq, String eventType, String claimedBy,
            Instant now) {
        return deliveries.putIfAbsent(webhook + " " + deploymentId + " " + seq,
                new Delivery(webhook, deploymentId, seq, eventType, claimedBy, 0, 0, "", false, now)) == null;
    }

    @Override
    public synchronized void recordAttempt(String webhook, String deploymentId, long seq, int attempts, int status, String error,
            boolean delivered, Instant now) {
        deliveries.computeIfPresent(webhook + " " + deploymentId + " " + seq, (k, d) -> new Delivery(d.webhook(), d.deploymentId(),
                d.seq(), d.eventType(), d.claimedBy(), attempts, status, error, delivered, now));
    }

    @Override
    public synchronized List<Delivery> deliveries(int limit) {
        List<Delivery> all = new ArrayList<>(deliveries.values());
        java.util.Collections.reverse(all);
        return all.stream().limit(limit).toList();
    }
}
