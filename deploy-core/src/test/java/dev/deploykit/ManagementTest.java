package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Servers, groups and the package repository, as a platform engineer uses them. */
class ManagementTest {
    @TempDir
    Path tmp;
    Cluster cluster;

    @BeforeEach
    void setUp() {
        cluster = new Cluster(tmp, 3);
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private Path artifact(Package p) {
        return tmp.resolve("artifacts/sha256").resolve(p.artifact().sha256());
    }

    @Test
    void serversAreRegisteredLabelledRefreshedAndRemoved() throws Exception {
        Servers servers = cluster.kit.servers();
        assertThrows(ConflictException.class, () -> servers.register(Server.of("n01", Binding.local(tmp), Map.of())));
        assertEquals("sh1", servers.label("n01", "dc", "sh1").labels().get("dc"));
        assertFalse(servers.unlabel("n01", "dc").labels().containsKey("dc"));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> servers.label("n01", "dc", "a b"));
        assertTrue(bad.getMessage().contains("'a b'"), bad.getMessage());
        assertThrows(NotFoundException.class, () -> servers.label("ghost", "dc", "x"));

        cluster.publishApp("1.0");
        cluster.run(DeployPlan.builder().action(Action.install("app", "1.0")).targetServers("n02").build());
        Files.createDirectories(cluster.root("n01").resolve("etc"));
        Files.writeString(cluster.root("n01").resolve("etc/os-release"), "ID=kylin\nVERSION_ID=\"V10\"\nID_LIKE=\"\"\n");
        Server refreshed = servers.refresh("n01");
        assertEquals("kylin", refreshed.facts().osId());
        assertEquals("deb", refreshed.facts().packageFamily());
        assertEquals(Map.of(), refreshed.inventory());
        assertEquals(Map.of("app", "1.0"), servers.refresh("n02").inventory());

        cluster.kit.groups().create(new ServerGroup("pair", Set.of("n01", "n02"), null));
        assertTrue(servers.remove("n01"));
        assertEquals(Set.of("n02"), cluster.kit.groups().get("pair").orElseThrow().members());
        assertFalse(servers.remove("n01"));
    }

    @Test
    void groupsChangeMembershipAndRefuseUnknownServers() {
        Groups groups = cluster.kit.groups();
        groups.create(new ServerGroup("web", Set.of("n01"), null));
        assertThrows(ConflictException.class, () -> groups.create(new ServerGroup("web", Set.of(), null)));
        assertThrows(NotFoundException.class, () -> groups.create(new ServerGroup("db", Set.of("ghost"), null)));
        assertEquals(Set.of("n01", "n03"), groups.addMembers("web", "n03").members());
        assertThrows(NotFoundException.class, () -> groups.addMembers("web", "ghost"));
        assertEquals(Set.of("n03"), groups.removeMembers("web", "n01").members());
        groups.setSelector("web", LabelSelector.parse("role=even"));
        assertEquals(List.of("n02", "n03"), groups.resolve("web").stream().map(Server::id).toList());
        assertTrue(groups.remove("web"));
        assertTrue(groups.get("web").isEmpty());
    }

    @Test
    void publishIsIdempotentAndAVersionCannotBeReplaced() throws Exception {
        Package first = cluster.publishApp("1.0");
        Package again = cluster.publishApp("1.0");
        assertEquals(first.artifact(), again.artifact());
        assertTrue(Files.exists(artifact(first)));
        StoreException e = assertThrows(StoreException.class, () -> cluster.publish(
                ScriptBundle.builder("app", "1.0").script("install", "echo different")));
        assertTrue(e.getMessage().contains("app 1.0"), e.getMessage());
        try (var blobs = Files.list(tmp.resolve("artifacts/sha256"))) {
            assertEquals(1, blobs.count(), "the refused file's artifact is not kept");
        }
        assertEquals(first.artifact(), cluster.kit.packages().get("app", "1.0").orElseThrow().artifact());
    }

    @Test
    void versionsAreListedInVersionOrderAndUnusedOnesDeleted() throws Exception {
        cluster.publishApp("1.10");
        Package old = cluster.publishApp("1.9");
        cluster.publishApp("1.0~rc1");
        assertEquals(List.of("1.0~rc1", "1.9", "1.10"), cluster.kit.packages().versions("app").stream().map(Package::version).toList());
        cluster.run(DeployPlan.builder().action(Action.install("app", "1.9")).targetServers("n01").build());
        ConflictException inUse = assertThrows(ConflictException.class, () -> cluster.kit.packages().delete("app", "1.9"));
        assertTrue(inUse.getMessage().contains("n01"), inUse.getMessage());
        cluster.run(DeployPlan.builder().action(Action.remove("app")).targetServers("n01").build());
        assertTrue(cluster.kit.packages().delete("app", "1.9"));
        assertFalse(Files.exists(artifact(old)));
        assertEquals(List.of("1.0~rc1", "1.10"), cluster.kit.packages().versions("app").stream().map(Package::version).toList());
    }

    @Test
    void unrecognizedFilesAreRefused() throws Exception {
        Path junk = Files.writeString(tmp.resolve("junk.bin"), "not a package");
        PackageFormatException e = assertThrows(PackageFormatException.class, () -> cluster.kit.packages().publish(junk));
        assertTrue(e.getMessage().contains("junk.bin"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> cluster.kit.packages().publish(tmp.resolve("missing.tar.gz")));
    }

    @Test
    void registeringTwoTransportsForOneSchemeIsRefusedButTheSameOneTwiceIsHarmless() {
        LocalTransport local = LocalTransport.create();
        DeployKit.Builder builder = DeployKit.builder().transport(local).transport(local);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> builder.transport(LocalTransport.create()));
        assertTrue(e.getMessage().contains("'local'"), e.getMessage());
        assertSame(builder, builder.transport(local));
    }
}
