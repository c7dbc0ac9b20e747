package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@link Liveness} rule, boundary by boundary. */
class LivenessTest {
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    private static final LivenessOptions OPTIONS = new LivenessOptions(Duration.ofSeconds(30), Duration.ofMinutes(2), Duration.ofSeconds(5));

    @ParameterizedTest(name = "seen {0} ms ago: {1}")
    @CsvSource({
        "-5000, ONLINE",   // lastSeen ahead of this controller's clock (skew): online
        "0, ONLINE",
        "29999, ONLINE",
        "30000, STALE",    // exactly staleAfter
        "119999, STALE",
        "120000, OFFLINE", // exactly offlineAfter
        "86400000, OFFLINE",
    })
    void statusFollowsTheAgeOfLastSeen(long ageMillis, Liveness expected) {
        Server server = Server.of("web-1", Binding.agent("web-1"), java.util.Map.of()).withLastSeen(NOW.minusMillis(ageMillis));
        assertEquals(expected, Liveness.of(server, NOW, OPTIONS));
    }

    @Test
    void aServerNeverSeenIsOffline() {
        assertEquals(Liveness.OFFLINE, Liveness.of(Server.of("new", Binding.agent("new"), java.util.Map.of()), NOW, OPTIONS));
    }

    @Test
    void defaultsAreThreeHeartbeatsAndTwoMinutes() {
        assertEquals(new LivenessOptions(Duration.ofSeconds(30), Duration.ofMinutes(2), Duration.ofSeconds(5)), LivenessOptions.defaults());
    }

    @Test
    void thresholdsOutOfOrderAreRefusedNamingTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LivenessOptions(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(5)));
        assertTrue(e.getMessage().contains("offlineAfter must be longer than staleAfter (PT30S), but was PT30S"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new LivenessOptions(Duration.ZERO, Duration.ofSeconds(30), Duration.ofSeconds(5)));
        assertTrue(e.getMessage().contains("staleAfter must be positive, but was PT0S"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new LivenessOptions(Duration.ofSeconds(3), Duration.ofSeconds(6), Duration.ofSeconds(-1)));
        assertTrue(e.getMessage().contains("checkEvery must be positive"), e.getMessage());
    }
}
