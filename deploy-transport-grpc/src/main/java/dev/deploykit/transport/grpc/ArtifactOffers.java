package dev.deploykit.transport.grpc;

import dev.deploykit.spi.ArtifactStore;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Which agent may fetch which artifact: an offer is made to one agent for the length of one task
 * and withdrawn when the task ends, so an agent can fetch only what a live task of its own needs.
 * Offers are counted, so two tasks placing the same digest on one agent do not cut each other off.
 * Thread-safe.
 */
final class ArtifactOffers {
    private record Key(String agentId, String sha256) {}

    private static final class Counted {
        final ArtifactStore source;
        final AtomicLong served = new AtomicLong();
        int count;

        Counted(ArtifactStore source) {
            this.source = source;
        }
    }

    /** A live offer; closing it withdraws it. */
    interface Offer extends AutoCloseable {
        /** Bytes of the digest sent to the agent while this offer (or another for the same agent and digest) was live. */
        long served();

        @Override
        void close();
    }

    /** What a fetch is sent from, and where the bytes it sends are counted. */
    record Source(ArtifactStore store, AtomicLong served) {}

    /** Guarded by {@code this}. */
    private final Map<Key, Counted> offers = new HashMap<>();

    /** Offers {@code sha256} from {@code source} to {@code agentId} until the returned handle is closed. */
    synchronized Offer offer(String agentId, String sha256, ArtifactStore source) {
        Key key = new Key(agentId, sha256);
        Counted counted = offers.computeIfAbsent(key, k -> new Counted(source));
        counted.count++;
        return new Offer() {
            @Override
            public long served() {
                return counted.served.get();
            }

            @Override
            public void close() {
                withdraw(key);
            }
        };
    }

    /** Where {@code agentId} may fetch {@code sha256} from, or null when no live task offered it to that agent. */
    synchronized Source source(String agentId, String sha256) {
        Counted offer = offers.get(new Key(agentId, sha256));
        return offer == null ? null : new Source(offer.source, offer.served);
    }

    synchronized int size() {
        return offers.size();
    }

    private synchronized void withdraw(Key key) {
        Counted offer = offers.get(key);
        if (offer != null && --offer.count == 0) {
            offers.remove(key);
        }
    }
}
