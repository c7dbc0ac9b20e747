package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online status of nodes without heartbeats (the local transport stands for SSH too): their last
 * contact is a refresh or a step, and status listeners hear each change. The kit's clock is moved
 * by hand, so the test waits for the 50 ms checker, never for the thresholds.
 */
class ServerStatusTest {
    @TempDir
    Path tmp;
    private final ManualClock clock = new ManualClock(Instant.parse("2026-03-01T12:00:00Z"));
    private DeployKit kit;

    @AfterEach
    void tearDown() {
        if (kit != null) {
            kit.close();
        }
    }

    @Test
    void aStepOrRefreshIsContactAndSilenceMakesTheServerStaleThenOffline() throws Exception {
        kit = DeployKit.builder().transport(LocalTransport.create()).artifactDir(tmp.resolve("artifacts")).clock(clock)
                .liveness(new LivenessOptions(Duration.ofSeconds(3), Duration.ofSeconds(6), Duration.ofMillis(50))).build();
        kit.servers().register(Server.of("n1", Binding.local(tmp.resolve("n1")), Map.of("role", "app")));
        assertEquals(Liveness.OFFLINE, kit.servers().liveness("n1"), "registered, never contacted");
        BlockingQueue<ServerStatusChange> heard = new LinkedBlockingQueue<>();
        try (AutoCloseable listening = kit.servers().onStatus(heard::add)) {
            Thread.sleep(200); // the silent baseline check: n1 OFFLINE

            Deployment d = kit.start(DeployPlan.builder().action(Action.runScripts(ScriptSet.of("s", Script.of("step", Command.shell("true")))))
                    .targetSelector("role=app").build());
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofSeconds(30)));
            assertEquals(new ServerStatusChange("n1", Liveness.OFFLINE, Liveness.ONLINE, clock.instant(), clock.instant()), next(heard),
                    "the step's answer is contact");
            assertEquals(clock.instant(), kit.servers().get("n1").orElseThrow().lastSeen());

            clock.advance(Duration.ofMillis(2999));
            Thread.sleep(200);
            assertEquals(Liveness.ONLINE, kit.servers().liveness("n1"));
            clock.advance(Duration.ofMillis(1));
            assertEquals(Liveness.STALE, next(heard).to());
            clock.advance(Duration.ofSeconds(3));
            ServerStatusChange offline = next(heard);
            assertEquals(Liveness.STALE, offline.from());
            assertEquals(Liveness.OFFLINE, offline.to());
            assertEquals(Liveness.OFFLINE, kit.servers().liveness("n1"));

            kit.servers().refresh("n1");
            assertEquals(Liveness.ONLINE, kit.servers().liveness("n1"));
            assertEquals(new ServerStatusChange("n1", Liveness.OFFLINE, Liveness.ONLINE, clock.instant(), clock.instant()), next(heard));
        }
        assertEquals(0, heard.size(), "one event per transition: " + heard);
    }

    private static ServerStatusChange next(BlockingQueue<ServerStatusChange> heard) throws InterruptedException {
        ServerStatusChange c = heard.poll(10, TimeUnit.SECONDS);
        assertNotNull(c, "no status change within 10 s");
        return c;
    }

    /** A clock that moves only when told to. Thread-safe. */
    static final class ManualClock extends Clock {
        private volatile Instant now;

        ManualClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
