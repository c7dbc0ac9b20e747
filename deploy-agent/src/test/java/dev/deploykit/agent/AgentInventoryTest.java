package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.InventoryChange;
import dev.deploykit.InventorySource;
import dev.deploykit.ReconcileDecision;
import dev.deploykit.Requirements;
import dev.deploykit.ServerGroup;
import dev.deploykit.format.deb.DebPackages;
import dev.deploykit.transport.grpc.AgentGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live inventory: a real agent JVM whose install root has its own dpkg database reports every
 * installed package, and every change to it, without anyone calling {@code refresh}.
 */
class AgentInventoryTest {
    @TempDir
    Path dir;
    AgentFixtures.Pki pki;
    AgentGateway gateway;
    DeployKit kit;
    final List<AgentFixtures.AgentProcess> agents = new ArrayList<>();

    @BeforeEach
    void requireDpkg() {
        Requirements.tool("dpkg", "to keep a dpkg database in the agent's install root");
        Requirements.tool("dpkg-deb", "to build real .deb files");
    }

    @AfterEach
    void tearDown() {
        agents.forEach(AgentFixtures.AgentProcess::close);
        if (kit != null) {
            kit.close();
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    private void startGateway(Duration reconcileInterval) throws Exception {
        pki = AgentFixtures.pki(dir);
        gateway = AgentFixtures.gateway(pki).build();
        kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts"))
                .reconcileInterval(reconcileInterval).build();
        gateway.start(kit.servers());
    }

    /** A Debian root with an empty dpkg database. */
    private Path debianRoot(String id) throws Exception {
        Path root = dir.resolve("root-" + id);
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/os-release"), "ID=debian\nVERSION_ID=\"12\"\n");
        return DebPackages.emptyDatabase(root);
    }

    private AgentFixtures.AgentProcess agent(String id, Path root) throws Exception {
        Path state = dir.resolve(id);
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), gateway.port(), id, state, root);
        args.addAll(List.of("--inventory-check-millis", "200"));
        AgentFixtures.AgentProcess a = new AgentFixtures.AgentProcess(state, args).start();
        agents.add(a);
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains(id), id + " to connect");
        return a;
    }

    private static void dpkg(Path root, String... args) throws Exception {
        DebPackages.dpkg(root, args);
    }

    private Map<String, String> inventory(String id) {
        return kit.servers().get(id).orElseThrow().inventory();
    }

    private List<InventoryChange> history(String id) {
        return kit.servers().inventoryHistory(id);
    }

    @Test
    void reportsEveryInstalledPackageOnConnectThenOnlyWhatChanged() throws Exception {
        startGateway(Duration.ofMinutes(10));
        Path root = debianRoot("d1");
        dpkg(root, "--install", DebPackages.build(dir, "inv-a", "1.0-1", "xz", null).toString(),
                DebPackages.build(dir, "inv-b", "2:3.1-4", "gzip", null).toString());
        AgentFixtures.AgentProcess agent = agent("d1", root);

        AgentFixtures.waitUntil(Duration.ofSeconds(10), () -> inventory("d1").containsKey("inv-b"), "the first report");
        assertEquals(Map.of("inv-a", "1.0-1", "inv-b", "2:3.1-4"), inventory("d1"),
                "packages DeployKit never installed are in the inventory, with dpkg's version strings");
        assertEquals(2, history("d1").size(), history("d1").toString());
        assertTrue(agent.logText().contains("inventory report: full, 2 packages (deb, script)"), agent.logText());

        dpkg(root, "--remove", "inv-a");
        AgentFixtures.waitUntil(Duration.ofSeconds(5), () -> !inventory("d1").containsKey("inv-a"), "the removal to be reported");
        assertEquals(Map.of("inv-b", "2:3.1-4"), inventory("d1"));
        InventoryChange removal = history("d1").get(2);
        assertEquals(List.of("inv-a", "1.0-1", InventorySource.AGENT_REPORT), List.of(removal.packageName(), removal.fromVersion(),
                removal.source()));
        assertEquals(null, removal.toVersion());

        dpkg(root, "--install", DebPackages.build(dir, "inv-c", "0.9", "xz", null).toString());
        AgentFixtures.waitUntil(Duration.ofSeconds(5), () -> inventory("d1").containsKey("inv-c"), "the install to be reported");
        assertEquals(4, history("d1").size(), "one entry per change: " + history("d1"));
        AgentFixtures.waitUntil(Duration.ofSeconds(5), () -> logText(agent).contains("delta, 1 changed, 0 removed"), "the delta in the log");
        String log = agent.logText();
        assertTrue(log.contains("inventory report: delta, 0 changed, 1 removed (the package database changed)"), log);
        assertEquals(1, log.split("inventory report: full").length - 1, "one full report per connection: " + log);
    }

    private static String logText(AgentFixtures.AgentProcess agent) {
        try {
            return agent.logText();
        } catch (java.io.IOException e) {
            return "";
        }
    }

    @Test
    void aPinnedPackageRemovedByHandIsSeenAndRepairedWithoutARefresh() throws Exception {
        startGateway(Duration.ofSeconds(1));
        Path root = debianRoot("p1");
        agent("p1", root);
        kit.packages().publish(DebPackages.build(dir, "inv-app", "1.0-1", "xz", null));
        Deployment d = kit.start(DeployPlan.builder().action(Action.install("inv-app", "1.0-1")).targetServers("p1").build());
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)), d.tasks().toString());
        assertEquals("1.0-1", inventory("p1").get("inv-app"));
        kit.groups().create(new ServerGroup("app", Set.of("p1"), null));
        kit.desired().pin("app", "inv-app", "1.0-1");
        AgentFixtures.waitUntil(Duration.ofSeconds(10), () -> kit.desired().decisions().stream()
                .anyMatch(x -> x.kind() == ReconcileDecision.Kind.CONVERGED), "the pin to be converged");

        dpkg(root, "--remove", "inv-app");
        AgentFixtures.waitUntil(Duration.ofSeconds(5), () -> history("p1").stream().anyMatch(c -> c.packageName().equals("inv-app")
                && c.toVersion() == null && c.source() == InventorySource.AGENT_REPORT), "the removal in the history");
        AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> kit.desired().decisions().stream()
                .anyMatch(x -> x.kind() == ReconcileDecision.Kind.REPAIR && x.installed() == null), "a repair");
        AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> "1.0-1".equals(inventory("p1").get("inv-app")), "the package back");
        assertTrue(Files.exists(root.resolve("opt/inv-app/VERSION")), "installed again on the node");
        ReconcileDecision repair = kit.desired().decisions().stream().filter(x -> x.kind() == ReconcileDecision.Kind.REPAIR).findFirst()
                .orElseThrow();
        assertTrue(repair.message().contains("drifted from 1.0-1 to absent"), repair.message());
        assertFalse(history("p1").stream().anyMatch(c -> c.source() == InventorySource.REFRESH), "nobody refreshed: " + history("p1"));
    }
}
