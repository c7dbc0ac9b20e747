package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeStatus;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.Server;
import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Control from any controller on one database: pause, resume, cancel and retry work from a
 * controller that does not own the deployment (through control requests the owner carries out), and
 * a handle from any controller follows the deployment to its end, across a takeover.
 */
class ControlAnywhereTest {
    @TempDir
    Path dir;

    private DeployKit kit(String schema, String controller) {
        return DeployKit.builder().store(PostgresFixture.freshStore().schema(schema).controllerId(controller).lease(Duration.ofSeconds(2)).build())
                .transport(LocalTransport.create()).artifactDir(dir.resolve("artifacts-" + controller)).build();
    }

    private void nodes(DeployKit kit, int n) throws Exception {
        for (int i = 1; i <= n; i++) {
            kit.servers().register(Server.of("n" + i, Binding.local(Files.createDirectories(dir.resolve("n" + i))), Map.of()));
        }
    }

    private static DeployPlan slow(String seconds) {
        return DeployPlan.builder().action(Action.runScripts(ScriptSet.of("slow", Script.of("sleep", Command.of("sleep", seconds)))))
                .targetAll().batch(BatchSize.count(1)).build();
    }

    private static void eventually(Supplier<Boolean> condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    @Test
    void aControllerThatDoesNotOwnADeploymentPausesResumesAndCancelsIt() throws Exception {
        String schema = PostgresFixture.newSchema();
        try (DeployKit owner = kit(schema, "owner"); DeployKit other = kit(schema, "other")) {
            nodes(owner, 4);
            Deployment running = owner.start(slow("1"));
            Deployment remote = other.deployment(running.id()).orElseThrow();
            List<DeployEvent> heard = new CopyOnWriteArrayList<>();
            remote.onEvent(heard::add);

            remote.pause();
            assertEquals(DeploymentStatus.PAUSED, running.status(), "the owner paused its run");
            assertEquals(DeploymentStatus.PAUSED, remote.status(), "and the other controller sees it");
            remote.resume();
            assertEquals(DeploymentStatus.RUNNING, running.status());
            remote.cancel();
            assertEquals(DeploymentStatus.CANCELLED, remote.await(Duration.ofMinutes(1)));
            assertEquals(DeploymentStatus.CANCELLED, running.await(Duration.ofSeconds(10)));
            assertTrue(running.tasks().stream().anyMatch(t -> t.status() == NodeStatus.CANCELLED), running.tasks().toString());
            eventually(() -> heard.size() == running.events().size(), "the remote listener to hear every event");
            assertEquals(running.events(), heard, "the remote listener heard the whole log, in order");
            List<String> reasons = heard.stream().filter(DeployEvent.DeploymentStatusChanged.class::isInstance)
                    .map(e -> ((DeployEvent.DeploymentStatusChanged) e).reason()).toList();
            assertTrue(reasons.containsAll(List.of("paused by user", "resumed", "cancelled by user")), reasons.toString());
        }
    }

    @Test
    void retryFailedWorksAfterAControllerRestart() throws Exception {
        String schema = PostgresFixture.newSchema();
        Path flag = dir.resolve("n2-broken");
        Files.writeString(flag, "");
        Command check = Command.of("/bin/sh", "-c", "test \"$(basename \"$PWD\")\" != n2 || test ! -e \"$1\"", "sh", flag.toString());
        String id;
        try (DeployKit first = kit(schema, "first")) {
            nodes(first, 3);
            Deployment d = first.start(DeployPlan.builder().action(Action.runScripts(ScriptSet.of("s", Script.of("check", check))))
                    .targetAll().maxFailed(BatchSize.count(1)).build());
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)));
            id = d.id();
        }
        Files.delete(flag);
        try (DeployKit second = kit(schema, "second")) {
            Deployment d = second.deployment(id).orElseThrow();
            d.retryFailed();
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)));
            eventually(() -> d.tasks().stream().allMatch(t -> t.status() == NodeStatus.SUCCEEDED), "every node to succeed");
            assertEquals(2, d.tasks().stream().filter(t -> t.serverId().equals("n2")).findFirst().orElseThrow().attempt());
        }
    }

    @Test
    void aHandleFromAThirdControllerFollowsTheDeploymentAcrossATakeover() throws Exception {
        String schema = PostgresFixture.newSchema();
        try (DeployKit watcher = kit(schema, "watcher"); DeployKit b = kit(schema, "b")) {
            String id;
            Deployment seen;
            try (DeployKit a = kit(schema, "a")) {
                nodes(a, 3);
                Deployment d = a.start(slow("1"));
                id = d.id();
                seen = watcher.deployment(id).orElseThrow();
                eventually(() -> d.tasks().stream().anyMatch(t -> t.status() == NodeStatus.SUCCEEDED), "a first node");
            } // a stops; b or the watcher takes the deployment over and finishes it
            assertEquals(DeploymentStatus.SUCCEEDED, seen.await(Duration.ofMinutes(1)));
            assertEquals(DeploymentStatus.SUCCEEDED, seen.status());
            assertTrue(seen.tasks().stream().allMatch(t -> t.status() == NodeStatus.SUCCEEDED), seen.tasks().toString());
            assertEquals(DeploymentStatus.SUCCEEDED, b.deployment(id).orElseThrow().status());
        }
    }
}
