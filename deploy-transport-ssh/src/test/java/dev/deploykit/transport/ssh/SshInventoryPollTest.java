package dev.deploykit.transport.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.InventoryChange;
import dev.deploykit.InventorySource;
import dev.deploykit.Requirements;
import dev.deploykit.Server;
import dev.deploykit.format.deb.DebPackages;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An SSH node's packages are polled with one command and applied like an agent's report. */
class SshInventoryPollTest {
    @TempDir
    Path dir;

    @Test
    void pollsEveryInstalledPackageOfAnSshNodeAndSeesARemovalByHand() throws Exception {
        Requirements.tool("dpkg", "to keep a dpkg database in the node's root");
        SshFixtures.Key hostKey = SshFixtures.keygen(dir, "host_ed25519");
        SshFixtures.Key userKey = SshFixtures.keygen(dir, "id_ed25519");
        Path root = DebPackages.emptyDatabase(dir.resolve("node"));
        DebPackages.dpkg(root, "--install", DebPackages.build(dir, "polled-a", "1.2-3", "xz", null).toString());
        try (SshFixtures.Sshd host = SshFixtures.openssh(dir, hostKey, userKey);
                DeployKit kit = DeployKit.builder().transport(SshFixtures.transport(dir, userKey, hostKey, List.of(host.port())))
                        .artifactDir(dir.resolve("artifacts")).inventoryPollInterval(Duration.ofMillis(300)).build()) {
            kit.servers().register(Server.of("s1", new Binding("ssh", Map.of("host", "127.0.0.1", "port",
                    Integer.toString(host.port()), "user", host.user(), "root", root.toString())), Map.of()));
            waitUntil(() -> "1.2-3".equals(kit.servers().get("s1").orElseThrow().inventory().get("polled-a")), "the first poll");
            List<InventoryChange> history = kit.servers().inventoryHistory("s1");
            assertEquals(1, history.size(), history.toString());
            assertEquals(InventorySource.POLL, history.get(0).source());

            DebPackages.dpkg(root, "--remove", "polled-a");
            waitUntil(() -> kit.servers().get("s1").orElseThrow().inventory().isEmpty(), "the removal to be polled");
            history = kit.servers().inventoryHistory("s1");
            assertEquals(2, history.size(), history.toString());
            assertEquals(null, history.get(1).toVersion());
        }
    }

    private static void waitUntil(BooleanSupplier condition, String what) throws InterruptedException {
        Instant end = Instant.now().plusSeconds(15);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(end)) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }
}
