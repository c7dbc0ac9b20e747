package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The relay's bandwidth cap, on a fake clock: what it lets through per second of that clock. */
class RateLimitTest {
    @Test
    void sendsAtItsRateAfterTheBurst() throws Exception {
        AtomicLong now = new AtomicLong();
        RateLimit limit = new RateLimit(1 << 20, now::get, now::addAndGet);
        for (int i = 0; i < 40; i++) {
            limit.acquire(256 * 1024);   // 10 MiB in chunks
        }
        double seconds = now.get() / 1e9;
        // 10 MiB at 1 MiB/s, less the first tenth of a second's burst
        assertTrue(seconds >= 9.8 && seconds <= 10.1, "took " + seconds + " s of the fake clock");
    }

    @Test
    void aChunkLargerThanTheBurstStillGoesThrough() throws Exception {
        AtomicLong now = new AtomicLong();
        RateLimit limit = new RateLimit(100 * 1024, now::get, now::addAndGet);
        limit.acquire(1 << 20);
        assertEquals(10.24 - 0.64, now.get() / 1e9, 0.05, "1 MiB at 100 KiB/s after a 64 KiB burst");
    }
}
