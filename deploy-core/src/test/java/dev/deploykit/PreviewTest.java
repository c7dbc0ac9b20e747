package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.NodePreview.VersionSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a preview's current version comes from: the stored inventory, how old it is, or the node itself. */
class PreviewTest {
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
    void aStaleInventoryIsFlaggedAndTheLivePreviewReadsWhatIsReallyInstalled() throws Exception {
        DesiredStateTest.TestClock clock = new DesiredStateTest.TestClock();
        cluster = new Cluster(tmp, 2, b -> b.clock(clock));
        DeployKit kit = cluster.kit;
        cluster.publishApp("1.0");
        cluster.publishApp("2.0");
        cluster.run(Cluster.install("1.0").build());
        kit.servers().refresh("n01");
        kit.servers().refresh("n02");
        DeployPlan upgrade = Cluster.install("2.0").build();

        List<NodePreview> fresh = kit.preview(upgrade);
        assertEquals(List.of(Liveness.ONLINE, Liveness.ONLINE), fresh.stream().map(NodePreview::liveness).toList());
        assertEquals(clock.instant(), fresh.get(0).lastSeen());
        assertNull(fresh.get(0).inventoryNote(), "a fresh inventory needs no note");
        assertEquals(VersionSource.INVENTORY, fresh.get(0).versionSource());

        // Behind DeployKit's back, n01 is switched to 0.9 on disk; an hour passes with no contact.
        Path current = cluster.root("n01").resolve("var/lib/deploykit/bundles/app/current");
        Files.delete(current);
        Files.createSymbolicLink(current, Path.of("0.9"));
        clock.advance(Duration.ofHours(1));

        List<NodePreview> stale = kit.preview(upgrade);
        assertEquals("1.0", stale.get(0).currentVersion(), "the stored inventory still says 1.0");
        assertEquals(Liveness.OFFLINE, stale.get(0).liveness());
        assertEquals("stale inventory: last seen 60m ago (OFFLINE)", stale.get(0).inventoryNote());

        // n01's agent (say) is heard from again, which makes it ONLINE but refreshes no inventory.
        kit.servers().recordSeen(Map.of("n01", clock.instant()));
        List<NodePreview> live = kit.preview(upgrade, PreviewOptions.live());
        NodePreview n01 = live.get(0);
        assertEquals("0.9", n01.currentVersion(), "read from the node");
        assertEquals(VersionSource.LIVE, n01.versionSource());
        assertEquals("read live from the node", n01.inventoryNote());
        assertFalse(n01.noop());
        NodePreview n02 = live.get(1);
        assertEquals(VersionSource.INVENTORY, n02.versionSource(), "an offline node falls back to the stored inventory");
        assertEquals("1.0", n02.currentVersion());
        assertEquals("stale inventory: last seen 60m ago (OFFLINE): not read live, the node is OFFLINE", n02.inventoryNote());

        assertEquals("1.0", kit.servers().get("n01").orElseThrow().inventory().get("app"), "a live preview stores nothing");
        assertEquals("0.9", cluster.installed("n01", "app"), "and changes nothing on the node");
        assertTrue(kit.preview(upgrade).get(0).included());
    }

    @Test
    void aRollbackToAVersionInstalledOutsideDeployKitIsFlaggedInThePreview() throws Exception {
        cluster = new Cluster(tmp, 2);
        DeployKit kit = cluster.kit;
        cluster.publishApp("1.0");
        cluster.publishApp("2.0");
        cluster.run(Cluster.install("1.0").build());
        // n01 gets 0.9 behind DeployKit's back: a version DeployKit never published
        Path current = cluster.root("n01").resolve("var/lib/deploykit/bundles/app/current");
        Files.delete(current);
        Files.createSymbolicLink(current, Path.of("0.9"));

        DeployPlan upgrade = Cluster.install("2.0").rollbackOnFailure(true).build();
        List<NodePreview> live = kit.preview(upgrade, PreviewOptions.live());
        assertEquals("cannot roll back: app 0.9 (on the node now) is not published, so a failure would leave app 2.0;"
                + " publish 0.9 to make the rollback possible", live.get(0).rollbackNote());
        assertNull(live.get(1).rollbackNote(), "n02 is on 1.0, which is published");
        assertNull(kit.preview(Cluster.install("2.0").build(), PreviewOptions.live()).get(0).rollbackNote(),
                "a plan that does not roll back needs no note");
        assertNull(kit.preview(upgrade).get(0).rollbackNote(), "the stored inventory still says 1.0");
    }
}
