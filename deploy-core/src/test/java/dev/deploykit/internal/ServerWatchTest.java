package dev.deploykit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deploykit.Binding;
import dev.deploykit.Liveness;
import dev.deploykit.LivenessOptions;
import dev.deploykit.Server;
import dev.deploykit.ServerStatusChange;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the status checker reports, check by check, with times given (no threads, no store). */
class ServerWatchTest {
    private static final Instant T0 = Instant.parse("2026-03-01T12:00:00Z");
    private final ServerWatch watch = new ServerWatch(new LivenessOptions(Duration.ofSeconds(3), Duration.ofSeconds(6), Duration.ofSeconds(1)));

    private static Server seen(String id, Instant at) {
        return Server.of(id, Binding.agent(id), Map.of()).withLastSeen(at);
    }

    @Test
    void reportsEachTransitionOnceAfterASilentBaseline() {
        assertEquals(List.of(), watch.check(List.of(seen("a", T0), seen("b", T0.minusSeconds(60))), T0), "the baseline check reports nothing");
        assertEquals(List.of(), watch.check(List.of(seen("a", T0), seen("b", T0.minusSeconds(60))), T0.plusSeconds(2)));
        assertEquals(List.of(new ServerStatusChange("a", Liveness.ONLINE, Liveness.STALE, T0, T0.plusSeconds(3))),
                watch.check(List.of(seen("a", T0), seen("b", T0.minusSeconds(60))), T0.plusSeconds(3)));
        assertEquals(List.of(), watch.check(List.of(seen("a", T0), seen("b", T0.minusSeconds(60))), T0.plusSeconds(5)), "still STALE: no news");
        assertEquals(List.of(new ServerStatusChange("a", Liveness.STALE, Liveness.OFFLINE, T0, T0.plusSeconds(6))),
                watch.check(List.of(seen("a", T0), seen("b", T0.minusSeconds(60))), T0.plusSeconds(6)));
        Instant back = T0.plusSeconds(7);
        assertEquals(List.of(new ServerStatusChange("a", Liveness.OFFLINE, Liveness.ONLINE, back, back),
                        new ServerStatusChange("b", Liveness.OFFLINE, Liveness.ONLINE, back, back)),
                watch.check(List.of(seen("a", back), seen("b", back)), back), "both came back, by id");
    }

    @Test
    void aServerRegisteredAfterTheBaselineIsReportedFromNullAndARemovedOneIsForgotten() {
        watch.check(List.of(seen("a", T0)), T0);
        assertEquals(List.of(new ServerStatusChange("new", null, Liveness.ONLINE, T0, T0.plusSeconds(1))),
                watch.check(List.of(seen("a", T0), seen("new", T0)), T0.plusSeconds(1)));
        assertEquals(List.of(), watch.check(List.of(seen("new", T0)), T0.plusSeconds(2)), "a removed: nothing to report");
        assertEquals(List.of(new ServerStatusChange("a", null, Liveness.STALE, T0, T0.plusSeconds(4)),
                        new ServerStatusChange("new", Liveness.ONLINE, Liveness.STALE, T0, T0.plusSeconds(4))),
                watch.check(List.of(seen("a", T0), seen("new", T0)), T0.plusSeconds(4)), "a registered again is new");
    }

    @Test
    void listenersHearChangesOnlyWhileRegisteredAndAFailingOneDoesNotStopOthers() throws Exception {
        List<ServerStatusChange> heard = new ArrayList<>();
        List<Server> servers = new ArrayList<>(List.of(seen("a", T0)));
        watch.tick(() -> { throw new AssertionError("nobody listens: the store is not read"); }, T0);
        AutoCloseable failing = watch.listen(c -> { throw new IllegalStateException("listener bug"); });
        AutoCloseable listening = watch.listen(heard::add);
        watch.tick(() -> servers, T0);
        watch.tick(() -> servers, T0.plusSeconds(3));
        assertEquals(List.of(new ServerStatusChange("a", Liveness.ONLINE, Liveness.STALE, T0, T0.plusSeconds(3))), heard);
        failing.close();
        listening.close();
        watch.tick(() -> servers, T0.plusSeconds(6));
        assertEquals(1, heard.size(), "a closed listener hears nothing more");
    }
}
