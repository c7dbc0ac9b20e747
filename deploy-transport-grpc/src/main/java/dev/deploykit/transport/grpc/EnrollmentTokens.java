package dev.deploykit.transport.grpc;

import dev.deploykit.spi.support.Sha256;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Limited-use, expiring enrollment tokens: each lets at most {@code uses} agents enroll before
 * {@code expires}. Tokens are compared in constant time and only their SHA-256 is kept. Thread-safe.
 *
 * <pre>{@code
 * String token = gateway.enrollmentTokens().issue(10, Duration.ofHours(1));  // hand it to the new nodes' installer
 * }</pre>
 */
public final class EnrollmentTokens {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final Clock clock;
    /** Guarded by {@code this}. */
    private final List<Entry> entries = new ArrayList<>();

    private static final class Entry {
        final byte[] hash;
        final Instant expires;
        int usesLeft;

        Entry(byte[] hash, Instant expires, int usesLeft) {
            this.hash = hash;
            this.expires = expires;
            this.usesLeft = usesLeft;
        }
    }

    EnrollmentTokens(Clock clock) {
        this.clock = clock;
    }

    /** A new random token good for {@code uses} enrollments within {@code ttl}. */
    public String issue(int uses, Duration ttl) {
        String token = HexFormat.of().formatHex(randomBytes());
        add(token, uses, ttl);
        return token;
    }

    /** Accepts a token chosen elsewhere (a configuration file) for {@code uses} enrollments within {@code ttl}. */
    public synchronized void add(String token, int uses, Duration ttl) {
        if (token == null || token.length() < 16) {
            throw new IllegalArgumentException("an enrollment token must be at least 16 characters");
        }
        if (uses < 1) {
            throw new IllegalArgumentException("uses must be >= 1, but was " + uses);
        }
        entries.add(new Entry(hash(token), clock.instant().plus(ttl), uses));
    }

    /** True when {@code presented} is a known token with uses left and not expired. */
    synchronized boolean valid(String presented) {
        return find(presented) != null;
    }

    /** Uses up one enrollment of {@code presented}; false when it is unknown, used up or expired. */
    synchronized boolean consume(String presented) {
        Entry match = find(presented);
        if (match == null) {
            return false;
        }
        match.usesLeft--;
        return true;
    }

    private Entry find(String presented) {
        Instant now = clock.instant();
        entries.removeIf(e -> e.usesLeft <= 0 || !now.isBefore(e.expires));
        byte[] h = hash(presented == null ? "" : presented);
        Entry match = null;
        for (Entry e : entries) {
            // compare with every entry, so the time taken does not say which one matched
            if (MessageDigest.isEqual(e.hash, h)) {
                match = e;
            }
        }
        return match;
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return b;
    }

    private static byte[] hash(String token) {
        return Sha256.newDigest().digest(token.getBytes(StandardCharsets.UTF_8));
    }
}
