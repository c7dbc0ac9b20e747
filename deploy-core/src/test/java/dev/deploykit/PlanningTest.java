package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Plan validation, target resolution, batch sizing and preview. */
class PlanningTest {
    @TempDir
    Path tmp;
    Cluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private List<Integer> batchSizes(int nodes, Function<DeployPlan.Builder, DeployPlan.Builder> rollout) {
        if (cluster == null || cluster.ids.size() != nodes) {
            if (cluster != null) {
                cluster.close();
            }
            cluster = new Cluster(tmp.resolve("c" + nodes), nodes);
            cluster.publishApp("1.0");
        }
        List<NodePreview> preview = cluster.kit.preview(rollout.apply(Cluster.install("1.0")).build());
        int batches = preview.stream().mapToInt(NodePreview::batch).max().orElse(-1) + 1;
        return java.util.stream.IntStream.range(0, batches)
                .mapToObj(b -> (int) preview.stream().filter(p -> p.batch() == b).count()).toList();
    }

    @Test
    void batchSizesForCountsPercentsAndCanary() {
        assertEquals(List.of(3, 3, 3, 1), batchSizes(10, b -> b.batch(BatchSize.percent(25))), "25% of 10 rounds up to 3");
        assertEquals(List.of(1, 3, 3, 3), batchSizes(10, b -> b.canary(BatchSize.count(1)).batch(BatchSize.percent(25))));
        assertEquals(List.of(4, 4, 2), batchSizes(10, b -> b.batch(BatchSize.count(4))));
        assertEquals(List.of(10), batchSizes(10, b -> b.batch(BatchSize.percent(100))));
        assertEquals(List.of(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), batchSizes(10, b -> b.batch(BatchSize.percent(1))), "1% of 10 is at least 1");
        assertEquals(List.of(1, 5, 4), batchSizes(10, b -> b.canary(BatchSize.percent(10)).batch(BatchSize.percent(50))));
        assertEquals(List.of(2, 2, 2, 1), batchSizes(7, b -> b.canary(BatchSize.percent(20)).batch(BatchSize.count(2))),
                "20% of 7 rounds up to a canary of 2");
        assertEquals(List.of(7), batchSizes(7, b -> b.batch(BatchSize.count(50))), "a count larger than the target is one batch");
    }

    @Test
    void previewAgreesWithWhatStartDoes() throws Exception {
        cluster = new Cluster(tmp, 5);
        cluster.publishApp("1.0");
        cluster.run(DeployPlan.builder().action(Action.install("app", "1.0")).targetServers("n02", "n04").build());
        DeployPlan plan = Cluster.install("1.0").canary(BatchSize.count(1)).batch(BatchSize.count(2)).build();

        List<NodePreview> preview = cluster.kit.preview(plan);
        assertEquals(List.of("n01", "n02", "n03", "n04", "n05"), preview.stream().map(NodePreview::serverId).toList());
        assertEquals(List.of(false, true, false, true, false), preview.stream().map(NodePreview::noop).toList());
        assertEquals("1.0", preview.get(1).currentVersion());
        assertEquals(null, preview.get(0).currentVersion());
        assertTrue(preview.get(0).canary());

        Deployment d = cluster.run(plan);
        Map<String, NodeStatus> s = cluster.statuses(d);
        for (NodePreview p : preview) {
            NodeTask task = d.tasks().stream().filter(t -> t.serverId().equals(p.serverId())).findFirst().orElseThrow();
            assertEquals(p.batch(), task.batch(), p.serverId());
            assertEquals(p.noop() ? NodeStatus.SKIPPED : NodeStatus.SUCCEEDED, s.get(p.serverId()), p.serverId());
        }
    }

    @Test
    void targetsCombineGroupsServersSelectorsAndExclusions() {
        cluster = new Cluster(tmp, 6);
        cluster.publishApp("1.0");
        cluster.kit.groups().create(new ServerGroup("db", java.util.Set.of("n01", "n02"), null));
        cluster.kit.groups().create(new ServerGroup("evens", java.util.Set.of(), LabelSelector.parse("role=even")));
        Function<DeployPlan.Builder, List<String>> targets = b -> cluster.kit.preview(b.action(Action.install("app", "1.0")).build())
                .stream().map(NodePreview::serverId).toList();
        assertEquals(List.of("n01", "n02"), targets.apply(DeployPlan.builder().targetGroups("db")));
        assertEquals(List.of("n02", "n04", "n06"), targets.apply(DeployPlan.builder().targetGroups("evens")));
        assertEquals(List.of("n01", "n02", "n04"), targets.apply(DeployPlan.builder().targetGroups("db", "evens").exclude("n06")));
        assertEquals(List.of("n03", "n05"), targets.apply(DeployPlan.builder().targetSelector("role=odd").exclude("n01")));
        assertEquals(List.of("n05"), targets.apply(DeployPlan.builder().targetServers("n05")));
        cluster.kit.servers().label("n05", "role", "even");
        assertEquals(List.of("n02", "n04", "n05", "n06"), cluster.kit.groups().resolve("evens").stream().map(Server::id).toList());
    }

    @Test
    void unknownGroupServerOrPackageFailsBeforeAnyNodeIsTouched() throws Exception {
        cluster = new Cluster(tmp, 2);
        cluster.publishApp("1.0");
        PlanValidationException group = assertThrows(PlanValidationException.class,
                () -> cluster.kit.start(DeployPlan.builder().action(Action.install("app", "1.0")).targetGroups("nope").build()));
        assertEquals("target.groups", group.field());
        assertEquals("nope", group.value());
        assertTrue(group.getMessage().contains("'nope'"), group.getMessage());
        PlanValidationException server = assertThrows(PlanValidationException.class,
                () -> cluster.kit.start(DeployPlan.builder().action(Action.install("app", "1.0")).targetServers("n01", "ghost").build()));
        assertEquals("target.servers", server.field());
        assertEquals("ghost", server.value());
        PlanValidationException pkg = assertThrows(PlanValidationException.class,
                () -> cluster.kit.start(Cluster.install("9.9").build()));
        assertEquals("action", pkg.field());
        assertTrue(pkg.getMessage().contains("app 9.9 is not published"), pkg.getMessage());
        PlanValidationException transport = assertThrows(PlanValidationException.class, () -> {
            cluster.kit.servers().register(Server.of("remote", Binding.ssh("10.0.0.1", 22, "deploy"), Map.of()));
            cluster.kit.start(Cluster.install("1.0").build());
        });
        assertTrue(transport.getMessage().contains("'ssh'"), transport.getMessage());
        assertEquals(List.of(), cluster.kit.deployments());
        assertEquals(List.of(), cluster.history("n01"));
        assertEquals(null, cluster.installed("n01", "app"));
    }

    @Test
    void invalidPlansFailAtBuildNamingTheField() {
        record Case(String field, String fragment, Function<DeployPlan.Builder, DeployPlan.Builder> plan) {}
        Function<DeployPlan.Builder, DeployPlan.Builder> valid = b -> b.action(Action.install("app", "1.0")).targetAll();
        List<Case> cases = List.of(
                new Case("action", "must be set", b -> b.targetAll()),
                new Case("target", "at least one", b -> b.action(Action.install("app", "1.0"))),
                new Case("rollout.batchPercent", "must be in 1%..100%, but was 140%", b -> valid.apply(b).batch(BatchSize.percent(140))),
                new Case("rollout.batchCount", "must be >= 1, but was 0", b -> valid.apply(b).batch(BatchSize.count(0))),
                new Case("rollout.canaryPercent", "but was -5", b -> valid.apply(b).canary(BatchSize.percent(-5))),
                new Case("rollout.concurrency", "but was -1", b -> valid.apply(b).concurrency(-1)),
                new Case("rollout.manualPromote", "canary", b -> valid.apply(b).manualPromote(true)),
                new Case("failurePolicy.maxFailedCount", "but was -1", b -> valid.apply(b).maxFailed(BatchSize.count(-1))),
                new Case("failurePolicy.rollbackOnFailure", "only install", b -> b.targetAll().rollbackOnFailure(true)
                        .action(Action.runScripts(ScriptSet.of("s", Script.of("x", Command.of("true")))))),
                new Case("target.servers", "but was 'bad id!'", b -> valid.apply(b).targetServers("bad id!")),
                new Case("stepTimeout", "must be positive", b -> valid.apply(b).stepTimeout(java.time.Duration.ZERO)));
        for (Case c : cases) {
            PlanValidationException e = assertThrows(PlanValidationException.class, () -> c.plan().apply(DeployPlan.builder()).build(), c.field());
            assertEquals(c.field(), e.field(), e.getMessage());
            assertTrue(e.getMessage().contains(c.fragment()), e.getMessage());
        }
        PlanValidationException selector = assertThrows(PlanValidationException.class, () -> DeployPlan.builder().targetSelector("role"));
        assertEquals("target.selector", selector.field());
        PlanValidationException health = assertThrows(PlanValidationException.class,
                () -> HealthCheck.of(Command.of("true"), -1, java.time.Duration.ZERO));
        assertEquals("healthCheck.retries", health.field());
    }

    @Test
    void plansWithTheSameFieldsAreEqualHoweverTheyWereBuilt() {
        DeployPlan plan = DeployPlan.builder().name("web").action(Action.install("app", "1.0")).targetGroups("a", "b")
                .exclude("n03").canary(BatchSize.count(1)).batch(BatchSize.percent(50)).maxFailed(BatchSize.count(1))
                .beforeHook(Command.of("true")).healthCheck(HealthCheck.ofPackage(2, java.time.Duration.ofSeconds(1))).build();
        DeployPlan sameOtherOrder = DeployPlan.builder().name("web").action(Action.install("app", "1.0")).targetGroups("b", "a")
                .exclude("n03").canary(BatchSize.count(1)).batch(BatchSize.percent(50)).maxFailed(BatchSize.count(1))
                .beforeHook(Command.of("true")).healthCheck(HealthCheck.ofPackage(2, java.time.Duration.ofSeconds(1))).build();
        assertEquals(plan, sameOtherOrder);
        assertEquals(plan.hashCode(), sameOtherOrder.hashCode());
        assertEquals(plan, plan.toBuilder().build());
        assertTrue(!plan.equals(plan.toBuilder().batch(BatchSize.percent(51)).build()));
        assertTrue(!plan.equals(plan.toBuilder().afterHook(Command.of("true")).build()));
    }
}
