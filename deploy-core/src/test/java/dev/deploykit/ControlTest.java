package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.format.script.ScriptBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pause, resume, promote, cancel, retry, and the event streams. */
class ControlTest {
    @TempDir
    Path tmp;
    Cluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A bundle whose install marks {@code <root>/started}, then waits for {@code <dir>/gate}. */
    private Package gatedApp() {
        return cluster.publish(ScriptBundle.builder("gated", "1.0")
                .script("install", "touch \"$DEPLOYKIT_ROOT/started\"\n"
                        + "while [ ! -e \"$DEPLOYKIT_ROOT/../../gate\" ]; do sleep 0.05; done\n"
                        + "echo \"install $DEPLOYKIT_VERSION\" >> \"$DEPLOYKIT_ROOT/history\""));
    }

    private static void waitUntil(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 30s");
            }
            Thread.sleep(20);
        }
    }

    private boolean started(String id) {
        return Files.exists(cluster.root(id).resolve("started"));
    }

    private static DeployPlan gated(int batch) {
        return DeployPlan.builder().action(Action.install("gated", "1.0")).targetAll()
                .batch(BatchSize.count(batch)).concurrency(1).stepTimeout(Duration.ofSeconds(60)).build();
    }

    @Test
    void cancelMidBatchKillsTheRunningNodeAndDispatchesNoOther() throws Exception {
        cluster = new Cluster(tmp, 4);
        gatedApp();
        Deployment d = cluster.kit.start(gated(4));
        waitUntil(() -> started("n01"));
        long before = System.nanoTime();
        d.cancel();
        assertEquals(DeploymentStatus.CANCELLED, d.await(Duration.ofSeconds(30)));
        assertTrue(System.nanoTime() - before < TimeUnit.SECONDS.toNanos(20), "cancel must not wait for the step");
        Map<String, NodeStatus> s = cluster.statuses(d);
        assertEquals(Map.of("n01", NodeStatus.CANCELLED, "n02", NodeStatus.CANCELLED, "n03", NodeStatus.CANCELLED,
                "n04", NodeStatus.CANCELLED), s);
        for (String id : List.of("n02", "n03", "n04")) {
            assertFalse(started(id), id + " must not be dispatched after cancel");
        }
        Files.writeString(cluster.dir.resolve("gate"), "");
        Thread.sleep(300);
        assertEquals(List.of(), cluster.history("n01"), "the cancelled install was killed, not finished");
    }

    @Test
    void pauseStopsDispatchUntilResume() throws Exception {
        cluster = new Cluster(tmp, 3);
        gatedApp();
        Deployment d = cluster.kit.start(gated(1));
        waitUntil(() -> started("n01"));
        d.pause();
        assertEquals(DeploymentStatus.PAUSED, d.status());
        Files.writeString(cluster.dir.resolve("gate"), "");
        waitUntil(() -> cluster.statuses(d).get("n01") == NodeStatus.SUCCEEDED);
        assertEquals(DeploymentStatus.PAUSED, d.await(Duration.ofMillis(500)));
        assertEquals(NodeStatus.PENDING, cluster.statuses(d).get("n02"));
        assertFalse(started("n02"));

        d.resume();
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofSeconds(30)));
        assertEquals(List.of("install 1.0"), cluster.history("n03"));
    }

    @Test
    void manualPromoteWaitsAfterTheCanary() throws Exception {
        cluster = new Cluster(tmp, 3);
        cluster.publishApp("1.0");
        Deployment d = cluster.kit.start(Cluster.install("1.0").canary(BatchSize.count(1)).manualPromote(true).build());
        waitUntil(() -> d.status() == DeploymentStatus.PAUSED);
        assertEquals(NodeStatus.SUCCEEDED, cluster.statuses(d).get("n01"));
        assertEquals(DeploymentStatus.PAUSED, d.await(Duration.ofMillis(300)));
        assertEquals(List.of(), cluster.history("n02"));
        d.resume();
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofSeconds(30)));
        assertEquals("1.0", cluster.installed("n03", "app"));
    }

    @Test
    void closingTheKitLeavesADeploymentForTheNextOneToResume() throws Exception {
        cluster = new Cluster(tmp, 3);
        gatedApp();
        dev.deploykit.spi.Store store = new dev.deploykit.store.memory.InMemoryStore();
        DeployKit first = DeployKit.builder().store(store).transport(dev.deploykit.transport.local.LocalTransport.create())
                .artifactDir(tmp.resolve("artifacts2")).build();
        cluster.kit.servers().list().forEach(first.servers()::register);
        first.packages().publish(ScriptBundle.builder("gated", "1.0").script("install", "touch \"$DEPLOYKIT_ROOT/started\"\n"
                + "while [ ! -e \"$DEPLOYKIT_ROOT/../../gate\" ]; do sleep 0.05; done\n"
                + "echo \"install $DEPLOYKIT_VERSION\" >> \"$DEPLOYKIT_ROOT/history\"").writeTo(tmp.resolve("gated.tar.gz")));
        String id = first.start(gated(1)).id();
        waitUntil(() -> started("n01"));
        first.close();
        assertEquals(DeploymentStatus.RUNNING, store.deployment(id).orElseThrow().status(), "closing is not cancelling");

        Files.writeString(cluster.dir.resolve("gate"), "");
        try (DeployKit second = DeployKit.builder().store(store).transport(dev.deploykit.transport.local.LocalTransport.create())
                .artifactDir(tmp.resolve("artifacts2")).build()) {
            Deployment resumed = second.deployment(id).orElseThrow();
            assertEquals(DeploymentStatus.SUCCEEDED, resumed.await(Duration.ofSeconds(60)), resumed.tasks().toString());
            for (String n : List.of("n01", "n02", "n03")) {
                assertTrue(started(n), n);
            }
            assertFalse(resumed.events().stream().anyMatch(e -> e instanceof DeployEvent.DeploymentStatusChanged c
                    && c.status() == DeploymentStatus.CANCELLED));
        }
    }

    @Test
    void retryFailedRunsOnlyTheFailedNodesAgain() throws Exception {
        cluster = new Cluster(tmp, 3);
        cluster.publishApp("1.0");
        cluster.markUnhealthy("n02");
        Deployment d = cluster.run(Cluster.install("1.0").maxFailed(BatchSize.count(1)).build());
        assertEquals(DeploymentStatus.SUCCEEDED, d.status());
        assertEquals(NodeStatus.FAILED, cluster.statuses(d).get("n02"));

        cluster.markHealthy("n02");
        d.retryFailed();
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofSeconds(30)));
        NodeTask retried = d.tasks().stream().filter(t -> t.serverId().equals("n02")).findFirst().orElseThrow();
        assertEquals(NodeStatus.SUCCEEDED, retried.status());
        assertEquals(2, retried.attempt());
        assertEquals(null, retried.previousVersion(), "the version from before the first attempt is kept");
        assertEquals(List.of("install 1.0", "install 1.0"), cluster.history("n02"), "the failed node is applied again");
        assertEquals(List.of("install 1.0"), cluster.history("n01"), "n01 is not run again");
        assertThrows(ConflictException.class, d::retryFailed);
    }

    @Test
    void eventsAreGapFreeAndTheListenerAndPublisherSeeThemAll() throws Exception {
        cluster = new Cluster(tmp, 3);
        cluster.publishApp("1.0");
        List<DeployEvent> heard = new ArrayList<>();
        Deployment d = cluster.kit.start(Cluster.install("1.0").batch(BatchSize.count(1)).build());
        d.onEvent(heard::add);
        CompletableFuture<List<DeployEvent>> published = new CompletableFuture<>();
        d.publisher().subscribe(new Flow.Subscriber<>() {
            final List<DeployEvent> got = new ArrayList<>();
            Flow.Subscription sub;

            @Override
            public void onSubscribe(Flow.Subscription s) {
                sub = s;
                s.request(1);
            }

            @Override
            public void onNext(DeployEvent item) {
                got.add(item);
                sub.request(1);
            }

            @Override
            public void onError(Throwable t) {
                published.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
                published.complete(got);
            }
        });
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofSeconds(30)));
        List<DeployEvent> log = d.events();
        for (int i = 0; i < log.size(); i++) {
            assertEquals(i + 1, log.get(i).seq());
        }
        assertEquals(log, heard);
        assertEquals(log, published.get(10, TimeUnit.SECONDS));
        assertTrue(log.get(0) instanceof DeployEvent.DeploymentStatusChanged p && p.status() == DeploymentStatus.PLANNED);
    }

    @Test
    void finishedDeploymentsAreListedAndRefuseControl() throws Exception {
        cluster = new Cluster(tmp, 1);
        cluster.publishApp("1.0");
        Deployment d = cluster.run(Cluster.install("1.0").build());
        assertEquals(List.of(d.id()), cluster.kit.deployments().stream().map(Deployment::id).toList());
        Deployment loaded = cluster.kit.deployment(d.id()).orElseThrow();
        assertEquals(DeploymentStatus.SUCCEEDED, loaded.status());
        assertEquals(d.events(), loaded.events());
        ConflictException e = assertThrows(ConflictException.class, loaded::pause);
        assertTrue(e.getMessage().contains("SUCCEEDED"), e.getMessage());
    }
}
