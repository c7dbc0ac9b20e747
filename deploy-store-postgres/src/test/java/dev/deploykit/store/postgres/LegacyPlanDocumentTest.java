package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployPlan;
import dev.deploykit.HealthCheck;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.Secret;
import dev.deploykit.StoreException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Plans stored before plan files, in the documents the old codec wrote (the strings below are its
 * output for the plans next to them), read back as the same plans; new plans are stored as plan-file
 * JSON and read back equal. Needs no database.
 */
class LegacyPlanDocumentTest {
    static final List<String> OLD_DOCUMENTS = List.of(
            """
            {"name":"web 2.3.1","action":{"type":"install","package":"web-app","version":"2.3.1"},"target":{"all":false,"groups":["web"],\
            "servers":["db-1"],"selector":{"role":"web"},"exclude":["web-7"]},"canary":{"count":1,"percent":0},"batch":{"count":0,"percent":25},\
            "concurrency":2,"pauseBetweenBatchesMillis":30000,"manualPromote":true,"maxFailed":{"count":0,"percent":10},\
            "batchFailureMode":"FINISH_BATCH","rollbackOnFailure":true,"beforeHooks":[{"argv":["systemctl","stop","web-app"],"env":{}}],\
            "afterHooks":[{"argv":["/opt/web/bin/migrate","--password=${secret:db-root}"],"env":{"DB_PASSWORD":"${secret:db-root}"},\
            "cwd":"/srv","timeoutMillis":1500,"runAs":"web"}],"healthCheck":{"command":{"argv":["curl","-fsS","http://127.0.0.1:8080/health"],\
            "env":{}},"retries":5,"intervalMillis":2000},"stepTimeoutMillis":1200000}""",
            """
            {"name":"","action":{"type":"scripts","name":"maint","scripts":[{"name":"drain","command":{"argv":["drain","--wait"],"env":{}}},\
            {"name":"vacuum","command":{"argv":["/bin/sh","-c","psql -c 'vacuum'","sh"],"env":{},"runAs":"postgres"}}]},"target":{"all":true,\
            "groups":[],"servers":[],"selector":{},"exclude":[]},"canary":{"count":0,"percent":0},"batch":{"count":0,"percent":25},\
            "concurrency":0,"pauseBetweenBatchesMillis":0,"manualPromote":false,"maxFailed":{"count":0,"percent":0},"batchFailureMode":"FAIL_FAST",\
            "rollbackOnFailure":false,"stepTimeoutMillis":600000}""",
            """
            {"name":"","action":{"type":"storedScripts","name":"hooks","version":"1.1"},"target":{"all":false,"groups":[],"servers":[],\
            "selector":{"role":"db"},"exclude":[]},"canary":{"count":0,"percent":0},"batch":{"count":0,"percent":25},"concurrency":0,\
            "pauseBetweenBatchesMillis":0,"manualPromote":false,"maxFailed":{"count":0,"percent":0},"batchFailureMode":"FAIL_FAST",\
            "rollbackOnFailure":false,"stepTimeoutMillis":600000}""",
            """
            {"name":"","action":{"type":"remove","package":"old"},"target":{"all":false,"groups":[],"servers":["n1"],"selector":{},"exclude":[]},\
            "canary":{"count":0,"percent":0},"batch":{"count":0,"percent":25},"concurrency":0,"pauseBetweenBatchesMillis":0,"manualPromote":false,\
            "maxFailed":{"count":0,"percent":0},"batchFailureMode":"FAIL_FAST","rollbackOnFailure":false,"healthCheck":{"retries":3,\
            "intervalMillis":250},"stepTimeoutMillis":600000}""",
            """
            {"name":"","action":{"type":"rollback","deployment":"d-42"},"target":{"all":false,"groups":["web"],"servers":[],"selector":{},\
            "exclude":[]},"canary":{"count":0,"percent":0},"batch":{"count":0,"percent":25},"concurrency":0,"pauseBetweenBatchesMillis":0,\
            "manualPromote":false,"maxFailed":{"count":0,"percent":0},"batchFailureMode":"FAIL_FAST","rollbackOnFailure":false,\
            "stepTimeoutMillis":600000}""");

    /** The plans the old codec wrote {@link #OLD_DOCUMENTS} for, in order. */
    static List<DeployPlan> plans() {
        Secret db = Secret.of("db-root");
        return List.of(
                DeployPlan.builder().name("web 2.3.1").action(Action.install("web-app", "2.3.1")).targetGroups("web").targetServers("db-1")
                        .targetSelector("role=web").exclude("web-7").canary(BatchSize.count(1)).batch(BatchSize.percent(25)).concurrency(2)
                        .pauseBetweenBatches(Duration.ofSeconds(30)).manualPromote(true).maxFailed(BatchSize.percent(10))
                        .batchFailureMode(DeployPlan.BatchFailureMode.FINISH_BATCH).rollbackOnFailure(true)
                        .beforeHook(Command.of("systemctl", "stop", "web-app"))
                        .afterHook(Command.of("/opt/web/bin/migrate", "--password=" + db).withEnv(Map.of("DB_PASSWORD", db.reference()))
                                .withRunAs("web").withCwd("/srv").withTimeout(Duration.ofMillis(1500)))
                        .healthCheck(HealthCheck.of(Command.of("curl", "-fsS", "http://127.0.0.1:8080/health"), 5, Duration.ofSeconds(2)))
                        .stepTimeout(Duration.ofMinutes(20)).build(),
                DeployPlan.builder().action(Action.runScripts(ScriptSet.of("maint", Script.of("drain", Command.of("drain", "--wait")),
                        Script.of("vacuum", Command.shell("psql -c 'vacuum'").withRunAs("postgres"))))).targetAll().build(),
                DeployPlan.builder().action(Action.runScripts("hooks", "1.1")).targetSelector("role=db").build(),
                DeployPlan.builder().action(Action.remove("old")).targetServers("n1").healthCheck(HealthCheck.ofPackage(3, Duration.ofMillis(250)))
                        .build(),
                DeployPlan.builder().action(Action.rollback("d-42")).targetGroups("web").build());
    }

    @Test
    void oldDocumentsReadAsThePlansTheyWereWrittenFor() {
        List<DeployPlan> plans = plans();
        for (int i = 0; i < plans.size(); i++) {
            assertEquals(plans.get(i), Json.plan(OLD_DOCUMENTS.get(i)), OLD_DOCUMENTS.get(i));
        }
    }

    @Test
    void newPlansAreStoredAsPlanFileJsonAndReadBackEqual() throws Exception {
        for (DeployPlan plan : plans()) {
            String stored = Json.plan(plan);
            JsonNode doc = Json.MAPPER.readTree(stored);
            assertFalse(LegacyPlanDocument.is(doc), stored);
            assertTrue(doc.has("rollout") && doc.path("action").size() == 1, stored);
            assertEquals(plan, Json.plan(stored));
        }
    }

    @Test
    void aDamagedStoredPlanIsAStoreErrorNamingWhere() {
        StoreException e = assertThrows(StoreException.class, () -> Json.plan("{\"action\": {\"install\": {\"package\": \"x\"}}, \"target\": {\"all\": true}}"));
        assertEquals("cannot decode a stored plan: json:1:24 action.install.version: is required", e.getMessage());
        assertThrows(StoreException.class, () -> Json.plan(OLD_DOCUMENTS.get(0).replace("\"install\"", "\"instal\"")));
    }
}
