package dev.deploykit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deploykit.Action;
import dev.deploykit.Binding;
import dev.deploykit.DeployPlan;
import dev.deploykit.Pin;
import dev.deploykit.ReconcileDecision.Kind;
import dev.deploykit.Server;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The reconciler's rules, one case per rule. */
class ConvergenceTest {
    private static final Instant NOW = Instant.parse("2026-03-01T10:00:00Z");
    private static final Pin PIN = new Pin("web", "app", "2.0",
            DeployPlan.builder().action(Action.install("app", "2.0")).targetGroups("web").build(), "alice", NOW);

    private static Server at(String version) {
        Server s = Server.of("web-3", Binding.local(Path.of("/tmp/web-3")), Map.of());
        return version == null ? s : s.withInstalled("app", version);
    }

    @Test
    void backoffStartsAtFiveSecondsDoublesAndStopsAtTenMinutes() {
        assertEquals(Duration.ofSeconds(5), Convergence.backoff(1));
        assertEquals(Duration.ofSeconds(10), Convergence.backoff(2));
        assertEquals(Duration.ofSeconds(320), Convergence.backoff(7));
        assertEquals(Duration.ofMinutes(10), Convergence.backoff(8));
        assertEquals(Duration.ofMinutes(10), Convergence.backoff(1000));
    }

    @Test
    void aServerThatHadItsPinAndLostItHasDrifted() {
        Convergence.Verdict v = Convergence.judge(PIN, at(null), false, Optional.empty(), null, true, NOW);
        assertEquals(new Convergence.Verdict(Kind.REPAIR, "web-3 drifted from 2.0 to absent: repairing"), v);
        assertEquals("web-3 has app 1.0, pinned 2.0: converging",
                Convergence.judge(PIN, at("1.0"), false, Optional.empty(), null, false, NOW).message());
    }

    @Test
    void heldComesBeforeConflictAndConflictBeforeBackoff() {
        Pin other = new Pin("canary", "app", "3.0", PIN.strategy(), "bob", NOW);
        Convergence.Failure failure = new Convergence.Failure("2.0", 1, NOW.plusSeconds(5), "boom");
        assertEquals(Kind.HELD, Convergence.judge(PIN, at("1.0"), true, Optional.of(other), failure, false, NOW).kind());
        assertEquals(Kind.CONFLICT, Convergence.judge(PIN, at("1.0"), false, Optional.of(other), failure, false, NOW).kind());
        assertEquals(Kind.BACKING_OFF, Convergence.judge(PIN, at("1.0"), false, Optional.empty(), failure, false, NOW).kind());
        assertEquals(Kind.REPAIR, Convergence.judge(PIN, at("1.0"), false, Optional.empty(), failure, false, NOW.plusSeconds(5)).kind());
        assertEquals(Kind.CONVERGED, Convergence.judge(PIN, at("2.0"), true, Optional.of(other), failure, false, NOW).kind());
    }

    @Test
    void failuresOfAnEarlierPinnedVersionDoNotCount() {
        Convergence.Failure old = new Convergence.Failure("1.0", 4, NOW.plusSeconds(600), "boom");
        assertEquals(Kind.REPAIR, Convergence.judge(PIN, at(null), false, Optional.empty(), old, false, NOW).kind());
        assertEquals(1, Convergence.failed(old, "2.0", "again", NOW).failures());
        assertEquals(5, Convergence.failed(old, "1.0", "again", NOW).failures());
    }
}
