package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Start times and maintenance windows: when each opens, and a deployment that waits for one. */
class DispatchWindowTest {
    private static final ZoneId SHANGHAI = ZoneId.of("Asia/Shanghai");
    @TempDir
    Path tmp;

    @Test
    void aWindowOpensAtItsTimeOnItsDaysInItsZone() {
        DispatchWindow weekend = DispatchWindow.daily(LocalTime.of(2, 0), Duration.ofHours(2), SHANGHAI)
                .on(DayOfWeek.SATURDAY, DayOfWeek.SUNDAY);
        // 2026-12-04 is a Friday; 02:00 in Shanghai is 18:00 UTC the day before.
        Instant fridayNoon = Instant.parse("2026-12-04T04:00:00Z");
        assertEquals(Instant.parse("2026-12-04T18:00:00Z"), weekend.nextOpen(fridayNoon), "Saturday 02:00 Shanghai");
        assertFalse(weekend.isOpen(fridayNoon));
        assertTrue(weekend.isOpen(Instant.parse("2026-12-04T19:59:59Z")), "Saturday 03:59:59 Shanghai");
        assertEquals(Instant.parse("2026-12-05T18:00:00Z"), weekend.nextOpen(Instant.parse("2026-12-04T20:00:00Z")),
                "closed at 04:00, next opens Sunday 02:00");
        assertEquals(Instant.parse("2026-12-11T18:00:00Z"), weekend.nextOpen(Instant.parse("2026-12-05T20:00:00Z")),
                "after Sunday's window, the next Saturday");

        DispatchWindow overnight = DispatchWindow.daily(LocalTime.of(23, 0), Duration.ofHours(3), ZoneId.of("UTC"));
        assertTrue(overnight.isOpen(Instant.parse("2026-12-04T01:30:00Z")), "a window past midnight holds the early hours");

        DispatchWindow later = weekend.notBefore(Instant.parse("2026-12-10T00:00:00Z"));
        assertEquals(Instant.parse("2026-12-11T18:00:00Z"), later.nextOpen(fridayNoon), "the first window after the start time");
        assertEquals(Instant.parse("2026-12-10T00:00:00Z"), DispatchWindow.startingAt(Instant.parse("2026-12-10T00:00:00Z")).nextOpen(fridayNoon));
        assertTrue(DispatchWindow.ALWAYS.isOpen(fridayNoon));
        assertEquals("window 02:00 for 2h on SAT,SUN (Asia/Shanghai)", weekend.describe());

        PlanValidationException tooLong = assertThrows(PlanValidationException.class,
                () -> DispatchWindow.daily(LocalTime.NOON, Duration.ofHours(25), SHANGHAI));
        assertEquals("window.length", tooLong.field());
    }

    @Test
    void aDeploymentOutsideItsWindowWaitsSayingUntilWhenThenRunsWhenItOpens() throws Exception {
        DesiredStateTest.TestClock clock = new DesiredStateTest.TestClock(); // 2026-03-01T10:00:00Z
        try (Cluster cluster = new Cluster(tmp, 2, b -> b.clock(clock))) {
            cluster.publishApp("1.0");
            DeployPlan plan = DeployPlan.builder().action(Action.install("app", "1.0")).targetServers("n01", "n02")
                    .window(DispatchWindow.daily(LocalTime.of(2, 0), Duration.ofHours(1), ZoneId.of("UTC"))).build();
            Deployment d = cluster.kit.start(plan);
            DesiredStateTest.eventually("the nodes to say they wait", () -> d.tasks().stream()
                    .allMatch(t -> t.message().startsWith("waiting for the dispatch window (window 02:00 for 1h (UTC)): opens at "
                            + "2026-03-02T02:00:00Z")));
            Thread.sleep(300);
            assertEquals(DeploymentStatus.RUNNING, d.status());
            assertEquals(List.of(), cluster.history("n01"), "nothing dispatched outside the window");

            clock.advance(Duration.ofHours(16));
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofSeconds(30)), d.tasks().toString());
            assertEquals("1.0", cluster.installed("n02", "app"));
        }
    }
}
