package dev.deploykit.spi.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LastSeenBatchTest {
    private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");

    @Test
    void manyContactsComeToOneCallWithTheLatestTimePerServer() {
        List<Map<String, Instant>> calls = new ArrayList<>();
        LastSeenBatch batch = new LastSeenBatch(calls::add);
        for (int i = 0; i < 100; i++) {
            batch.seen("a", T0.plusSeconds(i));
            batch.seen("b", T0.plusSeconds(100 - i)); // out of order: the latest wins
        }
        assertEquals(2, batch.flush());
        assertEquals(List.of(Map.of("a", T0.plusSeconds(99), "b", T0.plusSeconds(100))), calls);
        assertEquals(0, batch.flush(), "nothing noted since: no call");
        assertEquals(1, calls.size());
    }

    @Test
    void aFailedFlushKeepsItsBatchForTheNextOne() {
        List<Map<String, Instant>> calls = new ArrayList<>();
        boolean[] down = {true};
        LastSeenBatch batch = new LastSeenBatch(seen -> {
            if (down[0]) {
                throw new IllegalStateException("database down");
            }
            calls.add(seen);
        });
        batch.seen("a", T0);
        assertThrows(IllegalStateException.class, batch::flush);
        assertEquals(1, batch.pending());
        batch.seen("b", T0.plusSeconds(1));
        down[0] = false;
        assertEquals(2, batch.flush());
        assertEquals(List.of(Map.of("a", T0, "b", T0.plusSeconds(1))), calls);
    }
}
