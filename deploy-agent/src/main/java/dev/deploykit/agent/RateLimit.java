package dev.deploykit.agent;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A token bucket over bytes: {@link #acquire} blocks until {@code n} bytes may go, at
 * {@code bytesPerSecond} on average with bursts of a tenth of a second. Thread-safe: callers queue
 * on the bucket, so several streams sharing one limit share its rate.
 */
final class RateLimit {
    /** Sleeps for a number of nanoseconds (tests pass a fake clock's). */
    interface Sleeper {
        void sleep(long nanos) throws InterruptedException;
    }

    private final long bytesPerSecond;
    private final long burst;
    private final LongSupplier nanoTime;
    private final Sleeper sleeper;
    // @GuardedBy("this")
    private double tokens;
    // @GuardedBy("this")
    private long last;

    RateLimit(long bytesPerSecond) {
        this(bytesPerSecond, System::nanoTime, TimeUnit.NANOSECONDS::sleep);
    }

    RateLimit(long bytesPerSecond, LongSupplier nanoTime, Sleeper sleeper) {
        if (bytesPerSecond < 1) {
            throw new IllegalArgumentException("a rate limit needs at least 1 byte/s, but was " + bytesPerSecond);
        }
        this.bytesPerSecond = bytesPerSecond;
        this.burst = Math.max(64 * 1024, bytesPerSecond / 10);
        this.nanoTime = nanoTime;
        this.sleeper = sleeper;
        this.last = nanoTime.getAsLong();
        this.tokens = burst;
    }

    /** Waits until {@code n} bytes may be sent, then takes them. */
    synchronized void acquire(long n) throws InterruptedException {
        long left = n;
        while (left > 0) {
            long now = nanoTime.getAsLong();
            tokens = Math.min(burst, tokens + (now - last) * (double) bytesPerSecond / 1e9);
            last = now;
            long take = (long) Math.min(left, Math.floor(tokens));
            if (take > 0) {
                tokens -= take;
                left -= take;
                continue;
            }
            double need = Math.min(left, burst) - tokens;
            sleeper.sleep(Math.max(1_000_000L, (long) Math.ceil(need * 1e9 / bytesPerSecond)));
        }
    }
}
