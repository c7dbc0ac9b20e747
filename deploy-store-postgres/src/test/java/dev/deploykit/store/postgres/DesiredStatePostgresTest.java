package dev.deploykit.store.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.Deployment;
import dev.deploykit.ReconcileDecision;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Desired state with two controllers on one database: one reconciles a pin at a time (one drift, one
 * converging deployment), and when it dies the other takes the pin over once its lease runs out.
 */
class DesiredStatePostgresTest {
    private static final Duration LEASE = Duration.ofSeconds(1);

    @TempDir
    Path dir;

    private PostgresStore store(String schema, String controller) {
        return PostgresFixture.freshStore().schema(schema).controllerId(controller).lease(LEASE).build();
    }

    /** Controllers share the artifact directory, as they would share an artifact store in production. */
    private DeployKit kit(PostgresStore store) {
        return DeployKit.builder().store(store).transport(LocalTransport.create()).artifactDir(dir.resolve("artifacts"))
                .reconcileInterval(Duration.ofMillis(200)).build();
    }

    private static void eventually(Supplier<Boolean> condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    private Path root(String id) {
        return dir.resolve("nodes").resolve(id);
    }

    private boolean installed(String id, String version) {
        Path link = root(id).resolve("var/lib/deploykit/bundles/app/current");
        try {
            return Files.isSymbolicLink(link) && Files.readSymbolicLink(link).toString().equals(version);
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static List<Deployment> converging(DeployKit kit) {
        return kit.deployments().stream().filter(d -> d.plan().name().equals("converge web/app to 1.0")).toList();
    }

    private static boolean repaired(DeployKit kit) {
        return kit.desired().decisions().stream().anyMatch(d -> d.kind() == ReconcileDecision.Kind.REPAIR);
    }

    @Test
    void oneControllerReconcilesAPinAndTheOtherTakesItOverWhenItsHolderDies() throws Exception {
        String schema = PostgresFixture.newSchema();
        PostgresStore storeA = store(schema, "a");
        PostgresStore storeB = store(schema, "b");
        try (DeployKit a = kit(storeA); DeployKit b = kit(storeB)) {
            for (String id : List.of("n1", "n2", "n3")) {
                a.servers().register(Server.of(id, Binding.local(Files.createDirectories(root(id))), Map.of()));
            }
            a.packages().publish(ScriptBundle.builder("app", "1.0").script("install", "true").script("remove", "true")
                    .writeTo(dir.resolve("app-1.0.tar.gz")));
            a.groups().create(new ServerGroup("web", Set.of("n1", "n2", "n3"), null));

            a.desired().pin("web", "app", "1.0");
            eventually(() -> installed("n1", "1.0") && installed("n2", "1.0") && installed("n3", "1.0"), "the group to converge");
            eventually(() -> converging(a).stream().allMatch(d -> d.status().isTerminal()), "the converging deployment to end");
            Thread.sleep(1000); // five more passes on each controller: none may start a second deployment
            assertEquals(1, converging(a).size(), "one drift, one converging deployment");
            assertTrue(repaired(a) != repaired(b), "exactly one controller reconciled the pin");
            DeployKit holder = repaired(a) ? a : b;
            DeployKit other = holder == a ? b : a;
            List<ReconcileDecision> otherBefore = other.desired().decisions();

            // The holder dies: its store stops renewing the pin's lease, and it never releases it.
            (holder == a ? storeA : storeB).close();
            long died = System.nanoTime();
            Files.delete(root("n2").resolve("var/lib/deploykit/bundles/app/current"));
            other.servers().refresh("n2");
            eventually(() -> installed("n2", "1.0"), "the other controller to repair n2");
            Duration took = Duration.ofNanos(System.nanoTime() - died);

            assertEquals(2, converging(other).size());
            assertTrue(other.desired().decisions().size() > otherBefore.size());
            // The other controller never reconciled the pin before, so to it n2 is a server without the package.
            assertTrue(other.desired().decisions().stream().anyMatch(d -> d.kind() == ReconcileDecision.Kind.REPAIR
                    && d.message().startsWith("n2 has app absent, pinned 1.0: converging")), other.desired().decisions().toString());
            assertTrue(took.compareTo(LEASE.plusSeconds(10)) < 0, "taken over within the lease and a few passes, took " + took);
        }
    }

    @Test
    void aNamedLeaseHasOneHolderUntilReleasedOrRunOut() throws Exception {
        String schema = PostgresFixture.newSchema();
        try (PostgresStore one = store(schema, "one"); PostgresStore two = store(schema, "two")) {
            assertTrue(one.acquireLease("pin:web/app"));
            assertFalse(two.acquireLease("pin:web/app"));
            assertTrue(two.acquireLease("pin:api/app"), "another name is another lease");
            Thread.sleep(LEASE.toMillis() * 2);
            assertFalse(two.acquireLease("pin:web/app"), "its holder keeps renewing it");
            one.releaseLease("pin:web/app");
            assertTrue(two.acquireLease("pin:web/app"), "released: free at once");
            assertFalse(one.acquireLease("pin:web/app"));
            two.close(); // dies without releasing
            long start = System.nanoTime();
            eventually(() -> one.acquireLease("pin:web/app"), "the lease to run out");
            assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(LEASE.dividedBy(2)) > 0, "not before it ran out");
        }
    }
}
