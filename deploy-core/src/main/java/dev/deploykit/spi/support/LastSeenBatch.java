package dev.deploykit.spi.support;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Collects "heard from server X at T" in memory and hands them over in batches, so that many
 * heartbeats or step answers come to one store write per flush instead of one each. Keeps the latest
 * time per server. The owner calls {@link #flush()} on its own schedule and once more when it closes,
 * so nothing recorded is lost; a flush whose sink throws puts its batch back for the next one.
 *
 * <pre>{@code
 * LastSeenBatch seen = new LastSeenBatch(servers::recordSeen);
 * seen.seen("web-1", Instant.now());                  // per heartbeat: memory only
 * timer.scheduleWithFixedDelay(seen::flush, 10, 10, TimeUnit.SECONDS);
 * }</pre>
 *
 * <p>Thread-safe: {@link #seen} never blocks on a flush.
 */
public final class LastSeenBatch {
    private final Map<String, Instant> pending = new ConcurrentHashMap<>();
    private final Consumer<Map<String, Instant>> sink;

    /** {@code sink} gets each non-empty batch, id to latest time, e.g. {@code Servers::recordSeen}. */
    public LastSeenBatch(Consumer<Map<String, Instant>> sink) {
        this.sink = sink;
    }

    /** Notes that {@code serverId} was heard from at {@code at} (an earlier time than one noted already is dropped). */
    public void seen(String serverId, Instant at) {
        pending.merge(serverId, at, (a, b) -> a.isAfter(b) ? a : b);
    }

    /**
     * Hands everything noted since the last flush to the sink in one call; nothing when nothing was
     * noted. If the sink throws, the batch is kept for the next flush and the exception is rethrown.
     *
     * @return how many servers the batch had
     */
    public int flush() {
        Map<String, Instant> batch = new HashMap<>();
        for (String id : pending.keySet()) {
            Instant at = pending.remove(id);
            if (at != null) {
                batch.put(id, at);
            }
        }
        if (batch.isEmpty()) {
            return 0;
        }
        try {
            sink.accept(Map.copyOf(batch));
        } catch (RuntimeException e) {
            batch.forEach(this::seen);
            throw e;
        }
        return batch.size();
    }

    /** Servers noted and not flushed yet. */
    public int pending() {
        return pending.size();
    }
}
