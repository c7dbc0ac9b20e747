package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.DeployKit;
import dev.deploykit.Liveness;
import dev.deploykit.ServerStatusChange;
import dev.deploykit.store.memory.InMemoryStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online status of a real agent process from its heartbeats, with short thresholds
 * ({@link AgentFixtures#FAST_LIVENESS}: heartbeat 1 s, flush 500 ms, STALE 3 s, OFFLINE 6 s).
 */
class AgentLivenessTest {
    @TempDir
    Path dir;
    AgentFixtures.Controller controller;
    AgentFixtures.AgentProcess agent;

    @AfterEach
    void tearDown() {
        if (agent != null) {
            agent.close();
        }
        if (controller != null) {
            controller.close();
        }
    }

    @Test
    void killedAgentGoesStaleThenOfflineAndComesBackOnlineAsTheSameServer() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        controller = AgentFixtures.Controller.start(AgentFixtures.fastHeartbeats(AgentFixtures.gateway(pki)),
                DeployKit.builder().artifactDir(dir.resolve("artifacts")).liveness(AgentFixtures.FAST_LIVENESS));
        BlockingQueue<ServerStatusChange> heard = new LinkedBlockingQueue<>();
        controller.kit().servers().onStatus(heard::add);
        Thread.sleep(400); // the silent baseline: no servers yet
        Path root = Files.createDirectories(dir.resolve("root"));
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), controller.gateway().port(), "n1",
                dir.resolve("n1"), root);
        agent = new AgentFixtures.AgentProcess(dir.resolve("n1"), args).start();
        controller.awaitConnected("n1");

        ServerStatusChange appeared = next(heard);
        assertEquals("n1", appeared.serverId());
        assertNull(appeared.from(), "registered after the baseline");
        assertEquals(Liveness.ONLINE, appeared.to());
        Instant registered = controller.kit().servers().get("n1").orElseThrow().lastSeen();
        Thread.sleep(4_000); // past staleAfter: only heartbeats keep it online
        assertEquals(Liveness.ONLINE, controller.kit().servers().liveness("n1"));
        assertTrue(controller.kit().servers().get("n1").orElseThrow().lastSeen().isAfter(registered.plusSeconds(2)),
                "heartbeats moved the stored lastSeen forward");
        assertNull(heard.poll(), "no change while heartbeats arrive");

        agent.kill9();
        long killed = System.nanoTime();
        ServerStatusChange stale = next(heard);
        double staleAfter = (System.nanoTime() - killed) / 1e9;
        assertEquals(Liveness.ONLINE, stale.from());
        assertEquals(Liveness.STALE, stale.to());
        ServerStatusChange offline = next(heard);
        double offlineAfter = (System.nanoTime() - killed) / 1e9;
        assertEquals(Liveness.STALE, offline.from());
        assertEquals(Liveness.OFFLINE, offline.to());
        assertEquals(Liveness.OFFLINE, controller.kit().servers().liveness("n1"));
        // the last heartbeat came at most 1 s before the kill and was flushed within 500 ms; the checker adds at most 200 ms
        assertTrue(staleAfter > 1.0 && staleAfter < 4.5, "STALE " + staleAfter + " s after the kill");
        assertTrue(offlineAfter > 4.0 && offlineAfter < 7.5, "OFFLINE " + offlineAfter + " s after the kill");

        agent = new AgentFixtures.AgentProcess(dir.resolve("n1"), args).start();
        ServerStatusChange back = next(heard);
        assertEquals(Liveness.OFFLINE, back.from());
        assertEquals(Liveness.ONLINE, back.to());
        assertEquals(List.of("n1"), controller.kit().servers().list().stream().map(s -> s.id()).toList(), "the same server, not a second one");
        assertNull(heard.poll(), "one change per transition");
    }

    @Test
    void heartbeatsWaitForTheFlushAndThePendingOnesAreWrittenWhenTheControllerCloses() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        InMemoryStore store = new InMemoryStore();
        controller = AgentFixtures.Controller.start(AgentFixtures.gateway(pki).heartbeat(Duration.ofSeconds(1)).lastSeenFlush(Duration.ofHours(1)),
                DeployKit.builder().store(store).artifactDir(dir.resolve("artifacts")));
        agent = new AgentFixtures.AgentProcess(dir.resolve("n1"), AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN),
                controller.gateway().port(), "n1", dir.resolve("n1"), Files.createDirectories(dir.resolve("root")))).start();
        controller.awaitConnected("n1");
        Instant registered = store.server("n1").orElseThrow().lastSeen();
        Thread.sleep(2_500);
        assertEquals(registered, store.server("n1").orElseThrow().lastSeen(), "heartbeats are kept in memory until the flush");

        controller.close();
        controller = null;
        Instant flushed = store.server("n1").orElseThrow().lastSeen();
        assertTrue(flushed.isAfter(registered.plusSeconds(1)), "the pending heartbeats were written on close: " + registered + " -> " + flushed);
    }

    private static ServerStatusChange next(BlockingQueue<ServerStatusChange> heard) throws InterruptedException {
        ServerStatusChange c = heard.poll(30, TimeUnit.SECONDS);
        assertNotNull(c, "no status change within 30 s");
        return c;
    }
}
