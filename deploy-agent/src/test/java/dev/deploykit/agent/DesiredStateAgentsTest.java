package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.BatchSize;
import dev.deploykit.ConvergenceFailure;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.InventorySource;
import dev.deploykit.LabelSelector;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.ReconcileDecision;
import dev.deploykit.ReconcileDecision.Kind;
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
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The desired-state story with real agent JVMs, each with its own dpkg database: a pinned group
 * converges, a node that joins later converges with no plan, a package removed by hand is repaired,
 * a new pin rolls out with its canary and failure budget, and a node whose install always fails backs
 * off and is reported while the others converge.
 */
class DesiredStateAgentsTest {
    private static final String PIN = "web/web-app";
    @TempDir
    Path dir;
    AgentFixtures.Pki pki;
    AgentGateway gateway;
    DeployKit kit;
    final List<AgentFixtures.AgentProcess> agents = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        Requirements.tool("dpkg", "to keep a dpkg database in each agent's install root");
        Requirements.tool("dpkg-deb", "to build real .deb files");
        pki = AgentFixtures.pki(dir);
        gateway = AgentFixtures.gateway(pki).build();
        kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts"))
                .reconcileInterval(Duration.ofSeconds(1)).build();
        gateway.start(kit.servers());
    }

    @AfterEach
    void tearDown() {
        agents.forEach(AgentFixtures.AgentProcess::close);
        kit.close();
        gateway.close();
    }

    private Path root(String id) {
        return dir.resolve("root-" + id);
    }

    /** A real agent process labelled role=web, whose install root is a Debian root with its own dpkg database. */
    private void agent(String id) throws Exception {
        Files.createDirectories(root(id).resolve("etc"));
        Files.writeString(root(id).resolve("etc/os-release"), "ID=debian\nVERSION_ID=\"12\"\n");
        DebPackages.emptyDatabase(root(id));
        Path state = dir.resolve(id);
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), gateway.port(), id, state, root(id));
        args.set(args.indexOf("role=app"), "role=web");
        args.addAll(List.of("--inventory-check-millis", "200"));
        agents.add(new AgentFixtures.AgentProcess(state, args).start());
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains(id), id + " to connect");
    }

    private String installed(String id) {
        return kit.servers().get(id).orElseThrow().inventory().get("web-app");
    }

    private void awaitAt(String version, String... ids) throws InterruptedException {
        AgentFixtures.waitUntil(Duration.ofSeconds(90), () -> List.of(ids).stream().allMatch(id -> version.equals(installed(id))),
                String.join(", ", ids) + " at " + version + ", decisions: " + kit.desired().decisions());
    }

    private List<ReconcileDecision> decisions(Kind kind, String serverId) {
        return kit.desired().decisions().stream().filter(d -> d.kind() == kind && d.serverId().equals(serverId)).toList();
    }

    private List<Deployment> converging(String version) {
        return kit.deployments().stream().filter(d -> d.plan().name().equals("converge " + PIN + " to " + version)).toList();
    }

    private static Map<String, NodeStatus> statuses(Deployment d) {
        return d.tasks().stream().collect(Collectors.toMap(NodeTask::serverId, NodeTask::status));
    }

    @Test
    void aPinnedGroupOfRealAgentsConvergesRepairsDriftAndRollsOutTheNextPin() throws Exception {
        // The 2.0 package's postinst fails on a node whose root holds a "broken" file, as a real one fails on a full disk.
        kit.packages().publish(DebPackages.build(dir, "web-app", "1.0-1", "xz", null));
        kit.packages().publish(DebPackages.build(dir, "web-app", "2.0-1", "xz",
                "if [ -e \"$DPKG_ROOT/broken\" ]; then echo 'cannot write /opt/web-app: no space left' >&2; exit 1; fi"));
        kit.groups().create(new ServerGroup("web", Set.of(), LabelSelector.parse("role=web")));
        for (String id : List.of("w1", "w2", "w3")) {
            agent(id);
        }

        kit.desired().as("alice").pin("web", "web-app", "1.0-1");
        awaitAt("1.0-1", "w1", "w2", "w3");
        for (String id : List.of("w1", "w2", "w3")) {
            assertTrue(Files.exists(root(id).resolve("opt/web-app/VERSION")), id + ": installed by dpkg in its root");
        }

        // A fourth agent with the group's label joins: it converges with no plan.
        agent("w4");
        awaitAt("1.0-1", "w4");
        assertTrue(kit.deployments().stream().allMatch(d -> d.plan().name().startsWith("converge ")),
                "only the reconciler started deployments: " + kit.deployments().stream().map(d -> d.plan().name()).toList());
        assertEquals(2, converging("1.0-1").size(), "the first three in one deployment, the newcomer in a second");

        // Someone removes the package by hand on w2: the agent reports it, the reconciler repairs it.
        int repairsBefore = decisions(Kind.REPAIR, "w2").size();
        DebPackages.dpkg(root("w2"), "--remove", "web-app");
        AgentFixtures.waitUntil(Duration.ofSeconds(10), () -> kit.servers().inventoryHistory("w2").stream()
                .anyMatch(c -> c.toVersion() == null && c.source() == InventorySource.AGENT_REPORT), "the removal in w2's inventory");
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> decisions(Kind.REPAIR, "w2").size() > repairsBefore, "a repair of w2");
        ReconcileDecision repair = decisions(Kind.REPAIR, "w2").get(repairsBefore);
        assertTrue(repair.message().startsWith("w2 drifted from 1.0-1 to absent: repairing in deployment "), repair.message());
        awaitAt("1.0-1", "w2");
        assertEquals(3, converging("1.0-1").size(), "one drift, one repair");

        // Pin 2.0: a rolling upgrade with the pin's canary and failure budget. w3 cannot take it.
        Files.writeString(root("w3").resolve("broken"), "");
        kit.desired().as("alice").pin("web", "web-app", "2.0-1", DeployPlan.strategy().canary(BatchSize.count(1))
                .batch(BatchSize.count(2)).maxFailed(BatchSize.count(1)).build());
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> converging("2.0-1").stream().anyMatch(d -> d.status().isTerminal()),
                "the upgrade to end");
        Deployment upgrade = converging("2.0-1").get(0);
        assertEquals(List.of(List.of("w1"), List.of("w2", "w3"), List.of("w4")), upgrade.batches(), "canary first, then batches of two");
        assertEquals(DeploymentStatus.SUCCEEDED, upgrade.status(), "one failure is within the pin's budget: " + upgrade.tasks());
        assertEquals(Map.of("w1", NodeStatus.SUCCEEDED, "w2", NodeStatus.SUCCEEDED, "w3", NodeStatus.FAILED, "w4", NodeStatus.SUCCEEDED),
                statuses(upgrade));
        awaitAt("2.0-1", "w1", "w2", "w4");

        // w3 is retried with a doubling wait and reported; the others stay converged.
        AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> decisions(Kind.FAILED, "w3").size() >= 2, "a second failed try on w3");
        ConvergenceFailure failing = kit.desired().failing().stream().filter(f -> f.serverId().equals("w3")).findFirst().orElseThrow();
        assertEquals(PIN, failing.pin());
        assertEquals(2, failing.failures(), failing.toString());
        assertTrue(failing.lastError().contains("no space left"), failing.lastError());
        List<ReconcileDecision> failed = decisions(Kind.FAILED, "w3");
        List<ReconcileDecision> retries = decisions(Kind.REPAIR, "w3").stream().filter(d -> d.pinned().equals("2.0-1")).toList();
        Duration firstWait = Duration.between(failed.get(0).at(), retries.get(1).at());
        assertTrue(firstWait.compareTo(Duration.ofSeconds(5)) >= 0, "the retry waited out the first backoff (5 s), waited " + firstWait);
        assertEquals(10, Math.round(Duration.between(failed.get(1).at(), failing.nextAttempt()).toMillis() / 1000.0), "the wait doubled");
        for (String id : List.of("w1", "w2", "w4")) {
            assertEquals("2.0-1", installed(id), id);
        }

        // Fixed by hand: w3's next try converges it and the report clears.
        Files.delete(root("w3").resolve("broken"));
        awaitAt("2.0-1", "w3");
        AgentFixtures.waitUntil(Duration.ofSeconds(10), () -> kit.desired().failing().isEmpty(), "the failure report to clear");
        assertTrue(kit.desired().history().stream().allMatch(c -> c.actor().equals("alice")), kit.desired().history().toString());
    }
}
