package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.format.script.ScriptBundle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pins, the reconciler, drift repair, backoff, conflicts and holds, on local nodes with script bundles. */
class DesiredStateTest {
    private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");

    @TempDir
    Path tmp;
    Cluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A clock the test moves, for backoff; event timestamps simply stand still in between. */
    static final class TestClock extends Clock {
        private volatile Instant now = T0;

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    /** A cluster whose reconciler runs only on reconcileNow() (its period is an hour). */
    private Cluster manual(int nodes, Clock clock) {
        cluster = new Cluster(tmp, nodes, b -> b.reconcileInterval(Duration.ofHours(1)).clock(clock));
        return cluster;
    }

    static void eventually(String what, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(50);
        }
    }

    private boolean allAt(String version, String... ids) throws IOException {
        for (String id : ids) {
            if (!version.equals(cluster.installed(id, "app"))
                    || !version.equals(cluster.kit.servers().get(id).orElseThrow().inventory().get("app"))) {
                return false;
            }
        }
        return true;
    }

    private List<Deployment> converging() {
        return cluster.kit.deployments().stream().filter(d -> d.plan().name().startsWith("converge web/app")).toList();
    }

    /** The deployments a pass started, each awaited to its end. */
    private List<Deployment> awaitStarted(List<ReconcileDecision> pass) throws InterruptedException {
        List<String> ids = pass.stream().filter(d -> d.kind() == ReconcileDecision.Kind.REPAIR).map(ReconcileDecision::deploymentId)
                .distinct().toList();
        List<Deployment> result = new java.util.ArrayList<>();
        for (String id : ids) {
            Deployment d = cluster.kit.deployment(id).orElseThrow();
            assertTrue(d.await(Duration.ofMinutes(1)).isTerminal(), id);
            result.add(d);
        }
        return result;
    }

    private static List<String> servers(List<ReconcileDecision> pass, ReconcileDecision.Kind kind) {
        return pass.stream().filter(d -> d.kind() == kind).map(ReconcileDecision::serverId).toList();
    }

    @Test
    void pinnedGroupConvergesThenANewNodeConvergesWithoutAPlanAndDriftIsRepaired() throws Exception {
        cluster = new Cluster(tmp, 3, b -> b.reconcileInterval(Duration.ofMillis(200)));
        DeployKit kit = cluster.kit;
        cluster.publishApp("1.0");
        kit.groups().create(new ServerGroup("web", Set.of("n01"), LabelSelector.parse("tier=web")));
        kit.servers().label("n02", "tier", "web");
        kit.servers().label("n03", "tier", "web");

        kit.desired().pin("web", "app", "1.0");
        eventually("n01..n03 run app 1.0", () -> allAt("1.0", "n01", "n02", "n03"));
        assertEquals(1, converging().size(), "one converging deployment for the whole drift");
        assertEquals(List.of("n01", "n02", "n03"), converging().get(0).tasks().stream().map(NodeTask::serverId).sorted().toList());

        // A 4th node labelled into the group converges on the reconciler's own schedule, with no plan.
        kit.servers().register(Server.of("n04", Binding.local(cluster.root("n04")), java.util.Map.of("tier", "web")));
        eventually("n04 runs app 1.0", () -> allAt("1.0", "n04"));
        eventually("the converging deployment of n04 ended", () -> converging().stream().allMatch(d -> d.status().isTerminal()));
        assertEquals(2, converging().size());
        Deployment forN04 = converging().stream().filter(d -> d.tasks().size() == 1).findFirst().orElseThrow();
        assertEquals("n04", forN04.tasks().get(0).serverId());
        assertEquals(List.of("install 1.0"), cluster.history("n04"));
        assertEquals(List.of("install 1.0"), cluster.history("n01"), "converged nodes are left alone");

        // Someone removes the package by hand on n02; a refresh reads what is really installed.
        Path bundles = cluster.root("n02").resolve("var/lib/deploykit/bundles/app");
        Files.delete(bundles.resolve("current"));
        assertNull(kit.servers().refresh("n02").inventory().get("app"));
        eventually("n02 runs app 1.0 again", () -> allAt("1.0", "n02"));
        assertEquals(List.of("install 1.0", "install 1.0"), cluster.history("n02"));
        assertTrue(kit.desired().decisions().stream().anyMatch(d -> d.kind() == ReconcileDecision.Kind.REPAIR
                && d.message().startsWith("n02 drifted from 1.0 to absent: repairing in deployment ")), kit.desired().decisions().toString());
        assertEquals(3, converging().size());
    }

    @Test
    void aNewPinRollsOutWithThePinsCanaryBatchesAndFailureBudget() throws Exception {
        manual(5, Clock.systemUTC()).publishApp("1.0");
        cluster.publishApp("2.0");
        DeployKit kit = cluster.kit;
        kit.groups().create(new ServerGroup("web", Set.copyOf(cluster.ids), null));
        kit.desired().pin("web", "app", "1.0");
        awaitStarted(kit.desired().reconcileNow());
        assertTrue(allAt("1.0", cluster.ids.toArray(String[]::new)));

        cluster.markUnhealthy("n04");
        kit.desired().pin("web", "app", "2.0", DeployPlan.strategy().canary(BatchSize.count(1)).batch(BatchSize.count(2))
                .maxFailed(BatchSize.count(1)).build());
        List<ReconcileDecision> moved = kit.desired().reconcileNow();
        assertTrue(moved.get(0).message().startsWith("n01 has app 1.0, pinned 2.0: converging in deployment "),
                "a moved pin is an upgrade, not drift: " + moved.get(0).message());
        List<Deployment> upgrade = awaitStarted(moved);

        assertEquals(1, upgrade.size());
        Deployment d = upgrade.get(0);
        assertEquals("converge web/app to 2.0", d.plan().name());
        assertEquals(List.of(List.of("n01"), List.of("n02", "n03"), List.of("n04", "n05")), d.batches());
        assertEquals(DeploymentStatus.SUCCEEDED, d.status(), "one failure is within the pin's budget");
        assertEquals(NodeStatus.FAILED, cluster.statuses(d).get("n04"));
        assertEquals(NodeStatus.SUCCEEDED, cluster.statuses(d).get("n05"), "the rollout went on past the tolerated failure");
        for (String id : List.of("n01", "n02", "n03", "n05")) {
            assertEquals(List.of("install 1.0", "upgrade 2.0"), cluster.history(id), id);
        }
        List<ReconcileDecision> next = kit.desired().reconcileNow();
        assertEquals(List.of("n04"), servers(next, ReconcileDecision.Kind.FAILED), "the failed health check is reported");
    }

    @Test
    void aNodeWhoseInstallAlwaysFailsBacksOffDoublingAndIsReportedWhileTheOthersConverge() throws Exception {
        TestClock clock = new TestClock();
        manual(3, clock);
        String record = "echo \"$DEPLOYKIT_PHASE $DEPLOYKIT_VERSION\" >> \"$DEPLOYKIT_ROOT/history\"";
        cluster.publish(ScriptBundle.builder("app", "1.0")
                .script("install", "if [ -e \"$DEPLOYKIT_ROOT/broken\" ]; then echo 'disk says no' >&2; exit 3; fi; " + record)
                .script("remove", record));
        Files.createDirectories(cluster.root("n02"));
        Files.writeString(cluster.root("n02").resolve("broken"), "");
        DeployKit kit = cluster.kit;
        kit.groups().create(new ServerGroup("web", Set.copyOf(cluster.ids), null));
        kit.desired().pin("web", "app", "1.0", DeployPlan.strategy().batch(BatchSize.count(1)).build());

        List<ReconcileDecision> first = kit.desired().reconcileNow();
        assertEquals(List.of("n01", "n02", "n03"), servers(first, ReconcileDecision.Kind.REPAIR));
        assertEquals(DeploymentStatus.FAILED, awaitStarted(first).get(0).status(), "n02 failed and halted the rollout before n03");

        List<ReconcileDecision> second = kit.desired().reconcileNow();
        assertEquals(List.of("n02"), servers(second, ReconcileDecision.Kind.FAILED));
        assertEquals(List.of("n02"), servers(second, ReconcileDecision.Kind.BACKING_OFF));
        assertEquals(List.of("n03"), servers(second, ReconcileDecision.Kind.REPAIR), "the others are not held up by n02");
        awaitStarted(second);
        assertTrue(allAt("1.0", "n01", "n03"));
        assertEquals(List.of(), servers(kit.desired().reconcileNow(), ReconcileDecision.Kind.BACKING_OFF), "a standing state is logged once");
        ConvergenceFailure report = kit.desired().failing().get(0);
        assertEquals(new ConvergenceFailure("web/app", "n02", 1, T0.plusSeconds(5), report.lastError()), report);
        assertTrue(report.lastError().contains("disk says no"), report.lastError());

        // Each try fails again, and the wait doubles: 5 s, 10 s, 20 s.
        List<Long> waits = new java.util.ArrayList<>();
        for (int tries = 2; tries <= 4; tries++) {
            clock.advance(Duration.between(clock.instant(), kit.desired().failing().get(0).nextAttempt()).minusMillis(1));
            assertEquals(List.of(), servers(kit.desired().reconcileNow(), ReconcileDecision.Kind.REPAIR), "not before its time");
            clock.advance(Duration.ofMillis(1));
            List<ReconcileDecision> retry = kit.desired().reconcileNow();
            assertEquals(List.of("n02"), servers(retry, ReconcileDecision.Kind.REPAIR));
            awaitStarted(retry);
            List<ReconcileDecision> failed = kit.desired().reconcileNow();
            assertEquals(List.of("n02"), servers(failed, ReconcileDecision.Kind.FAILED));
            ConvergenceFailure f = kit.desired().failing().get(0);
            assertEquals(tries, f.failures());
            waits.add(Duration.between(failed.get(0).at(), f.nextAttempt()).toSeconds());
        }
        assertEquals(List.of(10L, 20L, 40L), waits);
        assertNull(cluster.installed("n02", "app"));

        // Fixed by hand: the next try converges it and the report clears.
        Files.delete(cluster.root("n02").resolve("broken"));
        clock.advance(Duration.ofSeconds(40));
        awaitStarted(kit.desired().reconcileNow());
        assertEquals(List.of("n02"), servers(kit.desired().reconcileNow(), ReconcileDecision.Kind.CONVERGED));
        assertEquals(List.of(), kit.desired().failing());
    }

    @Test
    void conflictingPinsAreRefusedNamingBothAndAnUnpublishedVersionIsNamed() throws Exception {
        manual(3, Clock.systemUTC()).publishApp("1.0");
        cluster.publishApp("2.0");
        DeployKit kit = cluster.kit;
        kit.groups().create(new ServerGroup("web", Set.of("n01", "n02"), null));
        kit.groups().create(new ServerGroup("canary", Set.of("n02", "n03"), null));
        kit.desired().pin("web", "app", "1.0");

        ConflictException e = assertThrows(ConflictException.class, () -> kit.desired().pin("canary", "app", "2.0"));
        assertEquals("pin canary/app 2.0 conflicts with pin web/app 1.0: server n02 is in both groups", e.getMessage());
        assertEquals(List.of("web/app"), kit.desired().pins().stream().map(Pin::key).toList(), "nothing stored");
        kit.desired().pin("canary", "app", "1.0"); // the same version is no conflict

        NotFoundException missing = assertThrows(NotFoundException.class, () -> kit.desired().pin("web", "app", "9.9"));
        assertEquals("app 9.9", missing.id());
        assertThrows(NotFoundException.class, () -> kit.desired().pin("nope", "app", "1.0"));
        PlanValidationException notRunnable = assertThrows(PlanValidationException.class, () -> kit.start(DeployPlan.strategy().build()));
        assertEquals("action", notRunnable.field());
    }

    @Test
    void aHeldServerIsLeftOutUntilReleasedAndTheHistorySaysWhoDidWhat() throws Exception {
        manual(3, Clock.systemUTC()).publishApp("1.0");
        DeployKit kit = cluster.kit;
        kit.groups().create(new ServerGroup("web", Set.copyOf(cluster.ids), null));
        DesiredState alice = kit.desired().as("alice");
        alice.hold("n02");
        alice.pin("web", "app", "1.0");
        List<ReconcileDecision> heard = new java.util.concurrent.CopyOnWriteArrayList<>();
        AutoCloseable listening = kit.desired().onDecision(heard::add);

        List<ReconcileDecision> pass = kit.desired().reconcileNow();
        assertEquals(pass, heard, "a listener hears each decision as it is recorded");
        listening.close();
        assertEquals(List.of("n01", "n03"), servers(pass, ReconcileDecision.Kind.REPAIR));
        assertEquals(List.of("n02"), servers(pass, ReconcileDecision.Kind.HELD));
        awaitStarted(pass);
        assertEquals(List.of(), cluster.history("n02"), "a held server is not touched");
        assertEquals(Set.of("n02"), kit.desired().held());

        kit.desired().as("bob").release("n02");
        assertEquals(List.of("n02"), servers(awaitStartedAndReturn(kit.desired().reconcileNow()), ReconcileDecision.Kind.REPAIR));
        assertTrue(allAt("1.0", "n01", "n02", "n03"));
        assertTrue(kit.desired().unpin("web", "app"));
        assertEquals(List.of(), kit.desired().reconcileNow(), "an unpinned package is left as it is");

        assertEquals(List.of("alice HOLD n02", "alice PIN web/app 1.0", "bob RELEASE n02", "user UNPIN web/app 1.0"),
                kit.desired().history().stream().map(c -> (c.actor().equals(System.getProperty("user.name")) ? "user" : c.actor())
                        + " " + c.kind() + " " + (c.serverId() != null ? c.serverId() : c.group() + "/" + c.packageName() + " " + c.version()))
                        .toList());
    }

    private List<ReconcileDecision> awaitStartedAndReturn(List<ReconcileDecision> pass) throws InterruptedException {
        awaitStarted(pass);
        return pass;
    }
}
