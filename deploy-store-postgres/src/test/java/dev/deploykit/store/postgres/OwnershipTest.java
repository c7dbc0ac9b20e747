package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployPlan;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.LeaseLostException;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.spi.DeploymentRecord;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Two controllers' stores on one database: one owner per deployment, takeover after the lease, fencing. */
class OwnershipTest {
    private static PostgresStore store(String schema, String controller) {
        return PostgresStore.builder(PostgresFixture.url()).user(PostgresFixture.user()).password(PostgresFixture.password())
                .schema(schema).controllerId(controller).lease(Duration.ofSeconds(30)).build();
    }

    private static void create(PostgresStore store, String id) {
        Instant now = Instant.now();
        DeployPlan plan = DeployPlan.builder().action(Action.install("app", "1.0")).targetAll().build();
        store.createDeployment(new DeploymentRecord(id, plan, List.of(List.of("a")), DeploymentStatus.PLANNED, now, now),
                List.of(new NodeTask(id, id + "-a", "a", 0, NodeStatus.PENDING, "", null, "1.0", false, "", 1, now)),
                new DeployEvent.DeploymentStatusChanged(id, 1, now, DeploymentStatus.PLANNED, ""));
    }

    private static DeployEvent running(String id, long seq) {
        return new DeployEvent.DeploymentStatusChanged(id, seq, Instant.now(), DeploymentStatus.RUNNING, "");
    }

    /** What a controller that stopped renewing (killed, paused, cut off) leaves once its lease has run out. */
    private static void expireLeases(String schema) throws Exception {
        try (Connection c = DriverManager.getConnection(PostgresFixture.url(), PostgresFixture.user(), PostgresFixture.password());
                Statement s = c.createStatement()) {
            s.execute("update " + schema + ".deployments set lease_until = now() - interval '1 second'");
        }
    }

    @Test
    void onlyTheOwnerWritesAndAnExpiredLeaseIsTakenOverWithAHigherEpoch() throws Exception {
        String schema = PostgresFixture.newSchema();
        try (PostgresStore a = store(schema, "controller-a"); PostgresStore b = store(schema, "controller-b")) {
            create(a, "d1");
            assertTrue(a.acquire("d1"), "the creator owns the deployment and may renew");
            assertFalse(b.acquire("d1"), "nobody takes over a live lease");
            a.append(running("d1", 2), null, DeploymentStatus.RUNNING);
            LeaseLostException notOwner = assertThrows(LeaseLostException.class, () -> b.append(running("d1", 3), null, null));
            assertTrue(notOwner.getMessage().contains("controller-a"), notOwner.getMessage());

            expireLeases(schema);
            assertTrue(b.acquire("d1"), "an expired lease is taken over");
            LeaseLostException fenced = assertThrows(LeaseLostException.class, () -> a.append(running("d1", 3), null, null));
            assertTrue(fenced.getMessage().contains("controller-b (epoch 2)"), fenced.getMessage());
            assertFalse(a.acquire("d1"), "the old owner cannot take it back while the new lease runs");
            b.append(running("d1", 3), null, null);
            assertEquals(List.of(1L, 2L, 3L), b.events("d1", 0).stream().map(DeployEvent::seq).toList(), "the stale write left no trace");
        }
    }

    @Test
    void aReleasedDeploymentIsTakenAtOnceAndAFinishedOneByAnyone() {
        String schema = PostgresFixture.newSchema();
        try (PostgresStore a = store(schema, "controller-a"); PostgresStore b = store(schema, "controller-b")) {
            create(a, "d1");
            a.release("d1");
            assertTrue(b.acquire("d1"), "a graceful stop hands the deployment over without waiting for the lease");
            create(a, "d2");
            a.append(new DeployEvent.DeploymentStatusChanged("d2", 2, Instant.now(), DeploymentStatus.SUCCEEDED, ""), null,
                    DeploymentStatus.SUCCEEDED);
            assertTrue(b.acquire("d2"), "a finished deployment holds no lease: any controller may retry its failed nodes");
        }
    }

    @AfterAll
    static void dropSchemas() throws Exception {
        PostgresFixture.dropTestSchemas();
    }
}
