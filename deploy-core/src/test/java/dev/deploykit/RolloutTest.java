package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RolloutTest {
    @TempDir
    Path tmp;
    Cluster cluster;

    @BeforeEach
    void setUp() {
        cluster = new Cluster(tmp, 0);
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private Cluster nodes(int n) {
        cluster.close();
        cluster = new Cluster(tmp.resolve("c" + n), n);
        return cluster;
    }

    @Test
    void installsOnEveryNodeCanaryFirstThenBatches() throws Exception {
        nodes(7).publishApp("1.0");
        Deployment d = cluster.run(Cluster.install("1.0").canary(BatchSize.count(1)).batch(BatchSize.count(3)).build());

        assertEquals(DeploymentStatus.SUCCEEDED, d.status());
        assertEquals(List.of(List.of("n01"), List.of("n02", "n03", "n04"), List.of("n05", "n06", "n07")), d.batches());
        for (String id : cluster.ids) {
            assertEquals("1.0", cluster.installed(id, "app"), id);
            assertEquals(List.of("install 1.0"), cluster.history(id), id);
            assertEquals("1.0", cluster.kit.servers().get(id).orElseThrow().inventory().get("app"));
        }
        List<DeployEvent.BatchStarted> batches = d.events().stream()
                .filter(DeployEvent.BatchStarted.class::isInstance).map(DeployEvent.BatchStarted.class::cast).toList();
        assertEquals(List.of(true, false, false), batches.stream().map(DeployEvent.BatchStarted::canary).toList());
        // A batch starts only after the previous one finished.
        long lastCanaryNodeEnd = d.events().stream().filter(e -> e instanceof DeployEvent.NodeStatusChanged n
                && n.serverId().equals("n01") && n.status() == NodeStatus.SUCCEEDED).findFirst().orElseThrow().seq();
        assertTrue(lastCanaryNodeEnd < batches.get(1).seq());
        // Each node's output arrives as events.
        Map<String, List<String>> output = Outputs.byServer(d, "install");
        cluster.ids.forEach(id -> assertEquals(List.of("install app 1.0"), output.get(id), id));
    }

    @Test
    void upgradeThenDowngradeRunTheMatchingLifecycleScripts() throws Exception {
        nodes(2).publishApp("1.0");
        cluster.publishApp("1.10");
        cluster.publishApp("1.9");
        cluster.run(Cluster.install("1.0").build());
        cluster.run(Cluster.install("1.10").build());
        Deployment down = cluster.run(Cluster.install("1.9").build());
        assertEquals(DeploymentStatus.SUCCEEDED, down.status());
        assertEquals(List.of("install 1.0", "upgrade 1.10", "downgrade 1.9"), cluster.history("n01"));
        assertEquals("1.10", down.tasks().get(0).previousVersion());
    }

    @Test
    void failureBudgetOfTenPercentOfTwentyToleratesTwoFailuresAndHaltsOnTheThird() throws Exception {
        nodes(20).publishApp("1.0");
        cluster.markUnhealthy("n03", "n05", "n08");
        Deployment d = cluster.run(Cluster.install("1.0").batch(BatchSize.count(1)).maxFailed(BatchSize.percent(10)).build());

        assertEquals(DeploymentStatus.FAILED, d.status());
        Map<String, NodeStatus> s = cluster.statuses(d);
        assertEquals(NodeStatus.FAILED, s.get("n03"));
        assertEquals(NodeStatus.SUCCEEDED, s.get("n04"), "the 1st failure continues");
        assertEquals(NodeStatus.FAILED, s.get("n05"));
        assertEquals(NodeStatus.SUCCEEDED, s.get("n06"), "the 2nd failure continues");
        assertEquals(NodeStatus.SUCCEEDED, s.get("n07"));
        assertEquals(NodeStatus.FAILED, s.get("n08"), "the 3rd failure halts");
        for (int i = 9; i <= 20; i++) {
            String id = String.format("n%02d", i);
            assertEquals(NodeStatus.CANCELLED, s.get(id), id);
            assertEquals(List.of(), cluster.history(id), id + " must not be touched");
        }
        DeployEvent.DeploymentStatusChanged end = (DeployEvent.DeploymentStatusChanged) d.events().get(d.events().size() - 1);
        assertTrue(end.reason().contains("3 node(s) failed, at most 2 allowed"), end.reason());
    }

    @Test
    void failuresWithinTheBudgetLetTheDeploymentSucceed() throws Exception {
        nodes(20).publishApp("1.0");
        cluster.markUnhealthy("n03", "n05");
        Deployment d = cluster.run(Cluster.install("1.0").batch(BatchSize.percent(25)).maxFailed(BatchSize.percent(10)).build());
        assertEquals(DeploymentStatus.SUCCEEDED, d.status());
        assertEquals(18, cluster.statuses(d).values().stream().filter(NodeStatus.SUCCEEDED::equals).count());
        assertEquals("1.0", cluster.installed("n20", "app"));
    }

    @Test
    void failedHealthCheckRollsChangedNodesBackAndTouchesNoOther() throws Exception {
        nodes(6).publishApp("1.0");
        cluster.publishApp("2.0");
        assertEquals(DeploymentStatus.SUCCEEDED, cluster.run(Cluster.install("1.0").batch(BatchSize.percent(100)).build()).status());
        cluster.markUnhealthy("n03");

        Deployment d = cluster.run(Cluster.install("2.0").canary(BatchSize.count(1)).batch(BatchSize.count(2))
                .rollbackOnFailure(true).build());

        assertEquals(DeploymentStatus.ROLLED_BACK, d.status());
        Map<String, NodeStatus> s = cluster.statuses(d);
        for (String id : List.of("n01", "n02", "n03")) {
            assertEquals(NodeStatus.ROLLED_BACK, s.get(id), id);
            assertEquals("1.0", cluster.installed(id, "app"), id);
            assertEquals(List.of("install 1.0", "upgrade 2.0", "downgrade 1.0"), cluster.history(id), id);
            assertEquals("1.0", cluster.kit.servers().get(id).orElseThrow().inventory().get("app"));
        }
        for (String id : List.of("n04", "n05", "n06")) {
            assertEquals(NodeStatus.CANCELLED, s.get(id), id);
            assertEquals("1.0", cluster.installed(id, "app"), id);
            assertEquals(List.of("install 1.0"), cluster.history(id), id + " must not be touched");
        }
        NodeTask failed = d.tasks().stream().filter(t -> t.serverId().equals("n03")).findFirst().orElseThrow();
        assertEquals("1.0", failed.previousVersion());
    }

    @Test
    void rollbackOfAFirstInstallRemovesThePackage() throws Exception {
        nodes(3).publishApp("1.0");
        cluster.markUnhealthy("n02");
        Deployment d = cluster.run(Cluster.install("1.0").batch(BatchSize.count(1)).rollbackOnFailure(true).build());
        assertEquals(DeploymentStatus.ROLLED_BACK, d.status());
        assertEquals(null, cluster.installed("n01", "app"));
        assertEquals(null, cluster.installed("n02", "app"));
        assertEquals(List.of("install 1.0", "remove 1.0"), cluster.history("n01"));
        assertEquals(List.of(), cluster.history("n03"));
        assertEquals(null, cluster.kit.servers().get("n01").orElseThrow().inventory().get("app"));
    }

    @Test
    void canaryFailureHaltsEvenWithinTheBudget() throws Exception {
        nodes(4).publishApp("1.0");
        cluster.markUnhealthy("n01");
        Deployment d = cluster.run(Cluster.install("1.0").canary(BatchSize.count(1)).maxFailed(BatchSize.count(2)).build());
        assertEquals(DeploymentStatus.FAILED, d.status());
        assertEquals(List.of(), cluster.history("n02"));
        assertEquals(NodeStatus.CANCELLED, cluster.statuses(d).get("n04"));
    }

    @Test
    void rollbackActionUndoesAnEarlierDeployment() throws Exception {
        nodes(3).publishApp("1.0");
        cluster.publishApp("2.0");
        cluster.run(DeployPlan.builder().action(Action.install("app", "1.0")).targetServers("n01", "n02").build());
        Deployment upgrade = cluster.run(Cluster.install("2.0").build());
        assertEquals("2.0", cluster.installed("n03", "app"));

        Deployment undo = cluster.run(DeployPlan.builder().action(Action.rollback(upgrade.id())).targetAll().build());
        assertEquals(DeploymentStatus.SUCCEEDED, undo.status());
        assertEquals("1.0", cluster.installed("n01", "app"));
        assertEquals("1.0", cluster.installed("n02", "app"));
        assertEquals(null, cluster.installed("n03", "app"), "n03 had nothing before the upgrade");
    }

    @Test
    void removeActionRunsTheRemoveScriptAndSkipsNodesWithoutThePackage() throws Exception {
        nodes(3).publishApp("1.0");
        cluster.run(DeployPlan.builder().action(Action.install("app", "1.0")).targetServers("n01", "n02").build());
        Deployment d = cluster.run(DeployPlan.builder().action(Action.remove("app")).targetAll().build());
        assertEquals(DeploymentStatus.SUCCEEDED, d.status());
        assertEquals(Map.of("n01", NodeStatus.SUCCEEDED, "n02", NodeStatus.SUCCEEDED, "n03", NodeStatus.SKIPPED), cluster.statuses(d));
        assertEquals(List.of("install 1.0", "remove 1.0"), cluster.history("n01"));
        assertEquals(null, cluster.installed("n01", "app"));
    }
}
