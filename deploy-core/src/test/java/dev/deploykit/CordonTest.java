package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.format.script.ScriptBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cordon, uncordon and drain, on local nodes with script bundles. */
class CordonTest {
    @TempDir
    Path tmp;
    Cluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aCordonedServerIsLeftOutOfNewDeploymentsRefusedByNameAndShownInPreview() throws Exception {
        cluster = new Cluster(tmp, 3);
        DeployKit kit = cluster.kit;
        cluster.publishApp("1.0");
        assertTrue(kit.servers().cordon("n02").cordoned());
        assertTrue(kit.servers().get("n02").orElseThrow().cordoned(), "the cordon is stored");
        kit.servers().update(kit.servers().get("n02").orElseThrow().withLabel("tier", "web").withCordoned(false));
        assertTrue(kit.servers().get("n02").orElseThrow().cordoned(), "update() does not lift a cordon");

        List<NodePreview> preview = kit.preview(Cluster.install("1.0").build());
        assertEquals(List.of("n01", "n03", "n02"), preview.stream().map(NodePreview::serverId).toList());
        NodePreview n02 = preview.get(2);
        assertTrue(n02.cordoned());
        assertFalse(n02.included());
        assertEquals(-1, n02.batch());
        assertEquals("server n02 is cordoned: left out of new deployments (uncordon it to include it)", n02.leftOut());
        assertTrue(preview.get(0).included());

        Deployment d = cluster.run(Cluster.install("1.0").build());
        assertEquals(Map.of("n01", NodeStatus.SUCCEEDED, "n03", NodeStatus.SUCCEEDED), cluster.statuses(d));
        assertNull(cluster.installed("n02", "app"), "nothing landed on the cordoned server");

        PlanValidationException byName = assertThrows(PlanValidationException.class,
                () -> kit.start(DeployPlan.builder().action(Action.install("app", "1.0")).targetServers("n02").build()));
        assertEquals("target.servers", byName.field());
        assertTrue(byName.getMessage().contains("server 'n02' is cordoned"), byName.getMessage());

        kit.servers().uncordon("n02");
        assertFalse(kit.servers().get("n02").orElseThrow().cordoned());
        Deployment again = cluster.run(DeployPlan.builder().action(Action.install("app", "1.0")).targetServers("n02").build());
        assertEquals(Map.of("n02", NodeStatus.SUCCEEDED), cluster.statuses(again));
        assertEquals("1.0", cluster.installed("n02", "app"));
    }

    @Test
    void aTargetOfOnlyCordonedServersIsRefusedNamingThem() {
        cluster = new Cluster(tmp, 2);
        cluster.publishApp("1.0");
        cluster.kit.servers().cordon("n01");
        cluster.kit.servers().cordon("n02");
        PlanValidationException e = assertThrows(PlanValidationException.class, () -> cluster.kit.preview(Cluster.install("1.0").build()));
        assertEquals("target", e.field());
        assertTrue(e.getMessage().contains("matches no server that is not cordoned (cordoned: n01, n02)"), e.getMessage());
    }

    @Test
    void theReconcilerSkipsACordonedServerWithADecisionUntilUncordoned() throws Exception {
        cluster = new Cluster(tmp, 3, b -> b.reconcileInterval(Duration.ofHours(1)));
        DeployKit kit = cluster.kit;
        cluster.publishApp("1.0");
        kit.groups().create(new ServerGroup("web", Set.copyOf(cluster.ids), null));
        kit.servers().cordon("n02");
        kit.desired().pin("web", "app", "1.0");

        List<ReconcileDecision> pass = kit.desired().reconcileNow();
        assertEquals(List.of("n01", "n03"), servers(pass, ReconcileDecision.Kind.REPAIR));
        assertEquals(List.of("n02"), servers(pass, ReconcileDecision.Kind.CORDONED));
        assertEquals("n02 is cordoned: leaving app absent (pinned 1.0)",
                pass.stream().filter(d -> d.kind() == ReconcileDecision.Kind.CORDONED).findFirst().orElseThrow().message());
        awaitRepairs(pass);
        assertEquals("1.0", cluster.installed("n01", "app"));
        assertNull(cluster.installed("n02", "app"), "convergence leaves a cordoned server alone");

        kit.servers().uncordon("n02");
        List<ReconcileDecision> after = kit.desired().reconcileNow();
        assertEquals(List.of("n02"), servers(after, ReconcileDecision.Kind.REPAIR));
        awaitRepairs(after);
        assertEquals("1.0", cluster.installed("n02", "app"));
    }

    @Test
    void drainCordonsThenReturnsOnceTheRunningSlowStepHasEnded() throws Exception {
        cluster = new Cluster(tmp, 2);
        DeployKit kit = cluster.kit;
        cluster.publish(ScriptBundle.builder("slow", "1.0")
                .script("install", "touch \"$DEPLOYKIT_ROOT/started\"\n"
                        + "while [ ! -e \"$DEPLOYKIT_ROOT/../../gate\" ]; do sleep 0.05; done"));
        Deployment d = kit.start(DeployPlan.builder().action(Action.install("slow", "1.0")).targetServers("n01")
                .stepTimeout(Duration.ofSeconds(60)).build());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(cluster.root("n01").resolve("started"))) {
            assertTrue(System.nanoTime() < deadline, "the slow step did not start");
            Thread.sleep(20);
        }

        assertFalse(kit.servers().drain("n01", Duration.ofMillis(300)), "the step is still running at the timeout");
        assertTrue(kit.servers().get("n01").orElseThrow().cordoned(), "drain cordons even when it times out");
        assertTrue(kit.servers().drain("n02", Duration.ZERO), "a server with nothing running is drained at once");

        Thread opener = new Thread(() -> {
            try {
                Thread.sleep(500);
                Files.writeString(tmp.resolve("gate"), "");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        opener.start();
        long before = System.nanoTime();
        assertTrue(kit.servers().drain("n01", Duration.ofSeconds(30)));
        assertTrue(System.nanoTime() - before >= TimeUnit.MILLISECONDS.toNanos(400), "drain waited for the step");
        NodeTask task = kit.deployment(d.id()).orElseThrow().tasks().get(0);
        assertEquals(NodeStatus.SUCCEEDED, task.status(), "drain returned after the node task ended");
        opener.join();
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofSeconds(30)));
    }

    private static List<String> servers(List<ReconcileDecision> pass, ReconcileDecision.Kind kind) {
        return pass.stream().filter(d -> d.kind() == kind).map(ReconcileDecision::serverId).toList();
    }

    private void awaitRepairs(List<ReconcileDecision> pass) throws InterruptedException {
        for (String id : pass.stream().filter(d -> d.kind() == ReconcileDecision.Kind.REPAIR).map(ReconcileDecision::deploymentId)
                .distinct().toList()) {
            assertTrue(cluster.kit.deployment(id).orElseThrow().await(Duration.ofMinutes(1)).isTerminal(), id);
        }
    }
}
