package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deploykit.DeployPlan;
import dev.deploykit.Pin;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A database written before plans became plan files: deployment and pin rows holding plans in the
 * store's old document shape are read, through the store, as the plans they were written for.
 */
class StoredPlanCompatibilityTest {
    @AfterAll
    static void dropSchemas() throws Exception {
        PostgresFixture.dropTestSchemas();
    }

    @Test
    void deploymentsAndPinsStoredInTheOldShapeReadAsTheirPlans() throws Exception {
        String schema = PostgresFixture.newSchema();
        List<String> old = LegacyPlanDocumentTest.OLD_DOCUMENTS;
        List<DeployPlan> plans = LegacyPlanDocumentTest.plans();
        try (PostgresStore store = PostgresFixture.freshStore().schema(schema).build();
                Connection c = DriverManager.getConnection(PostgresFixture.url(), PostgresFixture.user(), PostgresFixture.password())) {
            try (PreparedStatement insert = c.prepareStatement("insert into " + schema + ".deployments "
                    + "(id, plan, batches, status, created_at, updated_at) values (?, cast(? as jsonb), '[]', 'SUCCEEDED', now(), now())")) {
                for (int i = 0; i < old.size(); i++) {
                    insert.setString(1, "old-" + i);
                    insert.setString(2, old.get(i));
                    insert.executeUpdate();
                }
            }
            try (PreparedStatement pin = c.prepareStatement("insert into " + schema + ".pins "
                    + "(group_name, package, version, strategy, pinned_by, pinned_at) values ('web', 'web-app', '2.3.1', cast(? as jsonb), 'alice', now())")) {
                pin.setString(1, old.get(0));
                pin.executeUpdate();
            }
            for (int i = 0; i < old.size(); i++) {
                assertEquals(plans.get(i), store.deployment("old-" + i).orElseThrow().plan(), old.get(i));
            }
            List<Pin> pins = store.pins();
            assertEquals(1, pins.size());
            assertEquals(plans.get(0), pins.get(0).strategy());
        }
    }
}
