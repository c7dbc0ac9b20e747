package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.DeployKit;
import dev.deploykit.Liveness;
import dev.deploykit.ServerStatusChange;
import dev.deploykit.agent.AgentFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two controllers on one database, each with its own gateway; the only agent is connected to A.
 * B has no connection to it and still reports the same status changes, from the lastSeen A writes.
 */
class SharedLivenessTest {
    @TempDir
    Path dir;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private AgentFixtures.Controller controller(AgentFixtures.Pki pki, String schema, String id) {
        PostgresStore store = PostgresStore.builder(PostgresFixture.url()).user(PostgresFixture.user()).password(PostgresFixture.password())
                .schema(schema).controllerId(id).build();
        AgentFixtures.Controller c = AgentFixtures.Controller.start(AgentFixtures.fastHeartbeats(AgentFixtures.gateway(pki)),
                DeployKit.builder().store(store).artifactDir(dir.resolve("artifacts-" + id)).liveness(AgentFixtures.FAST_LIVENESS));
        closing.add(c);
        return c;
    }

    @Test
    void aControllerWithoutTheAgentsConnectionSeesTheSameTransitions() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        String schema = PostgresFixture.newSchema();
        AgentFixtures.Controller a = controller(pki, schema, "controller-a");
        AgentFixtures.Controller b = controller(pki, schema, "controller-b");
        BlockingQueue<ServerStatusChange> heardByA = new LinkedBlockingQueue<>();
        BlockingQueue<ServerStatusChange> heardByB = new LinkedBlockingQueue<>();
        a.kit().servers().onStatus(heardByA::add);
        b.kit().servers().onStatus(heardByB::add);
        Thread.sleep(400); // both take their silent baseline: no servers yet

        Path root = Files.createDirectories(dir.resolve("root"));
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), a.gateway().port(), "n1",
                dir.resolve("n1"), root);
        AgentFixtures.AgentProcess agent = new AgentFixtures.AgentProcess(dir.resolve("n1"), args).start();
        closing.add(agent);
        a.awaitConnected("n1");
        assertTransition(heardByB, null, Liveness.ONLINE);
        Thread.sleep(4_000); // past staleAfter: A's flushed heartbeats keep it online for B too
        assertEquals(Liveness.ONLINE, b.kit().servers().liveness("n1"));
        assertEquals(Set.of(), b.gateway().connectedAgents(), "B has no connection to n1");

        agent.kill9();
        assertTransition(heardByB, Liveness.ONLINE, Liveness.STALE);
        assertTransition(heardByB, Liveness.STALE, Liveness.OFFLINE);
        assertEquals(Liveness.OFFLINE, b.kit().servers().liveness("n1"));

        AgentFixtures.AgentProcess again = new AgentFixtures.AgentProcess(dir.resolve("n1"), args).start();
        closing.add(again);
        assertTransition(heardByB, Liveness.OFFLINE, Liveness.ONLINE);
        assertEquals(1, b.kit().servers().list().size(), "the same server, not a second one");

        AgentFixtures.waitUntil(Duration.ofSeconds(10), () -> heardByA.size() >= 4, "A to report the return too");
        assertEquals(List.of("null>ONLINE", "ONLINE>STALE", "STALE>OFFLINE", "OFFLINE>ONLINE"), moves(new ArrayList<>(heardByA)),
                "A, which holds the connection, saw the same changes");
        assertTrue(heardByB.isEmpty(), "B: one change per transition, " + heardByB);
    }

    private static List<String> moves(List<ServerStatusChange> changes) {
        return changes.stream().map(c -> c.from() + ">" + c.to()).toList();
    }

    private static void assertTransition(BlockingQueue<ServerStatusChange> heard, Liveness from, Liveness to) throws InterruptedException {
        ServerStatusChange c = heard.poll(30, TimeUnit.SECONDS);
        assertNotNull(c, "no change to " + to + " within 30 s");
        assertEquals("n1", c.serverId());
        assertEquals(from + ">" + to, c.from() + ">" + c.to());
    }
}
