package dev.deploykit.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.Artifact;
import dev.deploykit.BatchSize;
import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployPlan;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.HealthCheck;
import dev.deploykit.InventoryChange;
import dev.deploykit.InventorySource;
import dev.deploykit.LabelSelector;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.Package;
import dev.deploykit.PackageMetadata;
import dev.deploykit.Pin;
import dev.deploykit.PinChange;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.StoreException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Conformance suite every {@link Store} passes. Extend it and return a fresh, empty store from
 * {@link #newStore()}; the suite closes it after each test.
 */
public abstract class StoreContract {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    protected Store store;

    /** A new, empty store, isolated from every other test's. */
    protected abstract Store newStore() throws Exception;

    @BeforeEach
    void open() throws Exception {
        store = newStore();
    }

    @AfterEach
    void closeStore() throws Exception {
        store.close();
    }

    private static Server server(String id, String role) {
        return Server.of(id, Binding.local(Path.of("/tmp/" + id)), Map.of("role", role));
    }

    private static Package pkg(String name, String version, char digit) {
        return new Package("script", new Artifact(String.valueOf(digit).repeat(64), 10),
                new PackageMetadata(name, version, "d", Map.of("scripts", "install")), T0);
    }

    private static DeploymentRecord deployment(String id, Instant created) {
        DeployPlan plan = DeployPlan.builder().action(Action.install("app", "1.0")).targetAll().build();
        return new DeploymentRecord(id, plan, List.of(List.of("a"), List.of("b")), DeploymentStatus.PLANNED, created, created);
    }

    private static NodeTask task(String dep, String server, int batch) {
        return new NodeTask(dep, dep + "-" + server, server, batch, NodeStatus.PENDING, "", null, "1.0", false, "", 1, T0);
    }

    private static DeployEvent statusEvent(String dep, long seq, DeploymentStatus status) {
        return new DeployEvent.DeploymentStatusChanged(dep, seq, T0.plusSeconds(seq), status, "");
    }

    private void createDeployment(String id) {
        store.createDeployment(deployment(id, T0), List.of(task(id, "b", 1), task(id, "a", 0)),
                statusEvent(id, 1, DeploymentStatus.PLANNED));
    }

    @Test
    void storesUpdatesAndRemovesServers() {
        store.putServer(server("web-2", "web"));
        store.putServer(server("web-1", "web"));
        Server labelled = server("web-1", "web").withLabel("dc", "sh1").withInstalled("app", "1.0");
        store.putServer(labelled);
        assertEquals(List.of("web-1", "web-2"), store.servers().stream().map(Server::id).toList());
        assertEquals(labelled, store.server("web-1").orElseThrow());
        assertTrue(store.removeServer("web-2"));
        assertFalse(store.removeServer("web-2"));
        assertTrue(store.server("web-2").isEmpty());
    }

    @Test
    void keepsTheCordonOfAServerAcrossLastSeenUpdates() {
        store.putServer(server("a", "web").withCordoned(true));
        store.putServer(server("b", "web"));
        store.updateLastSeen(Map.of("a", T0, "b", T0));
        assertTrue(store.server("a").orElseThrow().cordoned());
        assertFalse(store.server("b").orElseThrow().cordoned());
        store.putServer(store.server("a").orElseThrow().withCordoned(false));
        assertFalse(store.server("a").orElseThrow().cordoned());
    }

    @Test
    void savesScriptSetVersionsOnceInTheOrderSaved() {
        ScriptSet v11 = ScriptSet.of("hooks", Script.of("warm", Command.shell("echo 1.1")),
                Script.of("env", new Command(List.of("env"), Map.of("A", "b"), "/srv", Duration.ofSeconds(5), "deploy")));
        ScriptSet v10 = ScriptSet.of("hooks", Script.of("warm", Command.shell("echo 1.0")));
        assertTrue(store.putScriptSet(v11, "1.1"));
        assertTrue(store.putScriptSet(v10, "1.0"));
        assertFalse(store.putScriptSet(v11, "1.0"), "a saved version is never replaced");
        assertEquals(v10, store.scriptSet("hooks", "1.0").orElseThrow());
        assertEquals(v11, store.scriptSet("hooks", "1.1").orElseThrow(), "every field of every command comes back");
        assertEquals(List.of("1.1", "1.0"), store.scriptSetVersions("hooks"));
        assertTrue(store.scriptSet("hooks", "2.0").isEmpty());
        assertEquals(List.of(), store.scriptSetVersions("other"));

        DeployPlan byReference = DeployPlan.builder().action(Action.runScripts("hooks", "1.1")).targetAll().build();
        store.createDeployment(new DeploymentRecord("d-s", byReference, List.of(List.of("a")), DeploymentStatus.PLANNED, T0, T0),
                List.of(task("d-s", "a", 0)), statusEvent("d-s", 1, DeploymentStatus.PLANNED));
        assertEquals(Action.runScripts("hooks", "1.1"), store.deployment("d-s").orElseThrow().plan().action(),
                "a plan keeps the reference, not the scripts");
    }

    @Test
    void updatesLastSeenOfManyServersInOneCallOnlyForward() {
        Server labelled = server("a", "web").withInstalled("app", "1.0").withLastSeen(T0.plusSeconds(10));
        store.putServer(labelled);
        store.putServer(server("b", "db"));
        store.putServer(server("c", "db").withLastSeen(T0.plusSeconds(10)));
        Instant later = T0.plusSeconds(20).plusNanos(123_000);
        store.updateLastSeen(Map.of("a", later, "b", T0.plusSeconds(5), "c", T0.plusSeconds(9), "gone", later));
        assertEquals(labelled.withLastSeen(later), store.server("a").orElseThrow(), "only lastSeen changes, to the microsecond");
        assertEquals(T0.plusSeconds(5), store.server("b").orElseThrow().lastSeen(), "a server never seen gets its first time");
        assertEquals(T0.plusSeconds(10), store.server("c").orElseThrow().lastSeen(), "an older time does not move lastSeen back");
        assertTrue(store.server("gone").isEmpty(), "an unknown id is skipped, not created");
        store.updateLastSeen(Map.of());
        assertEquals(3, store.servers().size());
    }

    @Test
    void recordsAnInventoryWithItsHistoryInOneCall() {
        Server before = server("a", "web").withInstalled("app", "1.0").withInstalled("libc6", "2.36-9");
        store.putServer(before);
        store.putServer(server("b", "web"));
        Server after = before.withInstalled("app", "1.1").withInstalled("libc6", null).withInstalled("curl", "7.88.1-10+deb12u5");
        List<InventoryChange> changes = List.of(
                new InventoryChange(T0.plusSeconds(1), "a", "app", "1.0", "1.1", InventorySource.AFTER_TASK),
                new InventoryChange(T0.plusSeconds(1), "a", "curl", null, "7.88.1-10+deb12u5", InventorySource.AFTER_TASK),
                new InventoryChange(T0.plusSeconds(1), "a", "libc6", "2.36-9", null, InventorySource.AFTER_TASK));
        store.recordInventory(after, changes);
        Instant later = T0.plusSeconds(2).plusNanos(5_000);
        InventoryChange gone = new InventoryChange(later, "a", "curl", "7.88.1-10+deb12u5", null, InventorySource.AGENT_REPORT);
        store.recordInventory(after.withInstalled("curl", null), List.of(gone));
        store.recordInventory(store.server("b").orElseThrow().withLastSeen(later), List.of());

        assertEquals(Map.of("app", "1.1"), store.server("a").orElseThrow().inventory());
        List<InventoryChange> all = new java.util.ArrayList<>(changes);
        all.add(gone);
        assertEquals(all, store.inventoryHistory("a"), "oldest first, every field kept, to the microsecond");
        assertEquals(later, store.server("b").orElseThrow().lastSeen(), "no changes still stores the server");
        assertEquals(List.of(), store.inventoryHistory("b"));
        assertEquals(List.of(), store.inventoryHistory("unknown"));
    }

    @Test
    void storesGroupsWithMembersAndSelector() {
        ServerGroup group = new ServerGroup("web", Set.of("a", "b"), LabelSelector.parse("role=web"));
        store.putGroup(group);
        assertEquals(group, store.group("web").orElseThrow());
        store.putGroup(group.withMembers(Set.of("c")));
        assertEquals(Set.of("c"), store.group("web").orElseThrow().members());
        assertEquals(1, store.groups().size());
        assertTrue(store.removeGroup("web"));
        assertTrue(store.group("web").isEmpty());
    }

    @Test
    void packageVersionIsImmutableOnceStored() {
        store.putPackage(pkg("app", "1.0", 'a'));
        store.putPackage(pkg("app", "1.0", 'a'));
        StoreException e = assertThrows(StoreException.class, () -> store.putPackage(pkg("app", "1.0", 'b')));
        assertTrue(e.getMessage().contains("app 1.0"), e.getMessage());
        store.putPackage(pkg("app", "2.0", 'b'));
        store.putPackage(pkg("lib", "0.1", 'c'));
        assertEquals(List.of("1.0", "2.0"), store.packageVersions("app").stream().map(Package::version).toList());
        assertEquals("a".repeat(64), store.findPackage("app", "1.0").orElseThrow().artifact().sha256());
        assertEquals(List.of("app", "lib"), store.packageNames());
        assertTrue(store.removePackage("app", "1.0"));
        assertFalse(store.removePackage("app", "1.0"));
        assertEquals(List.of("2.0"), store.packageVersions("app").stream().map(Package::version).toList());
    }

    @Test
    void createsDeploymentWithTasksAndFirstEvent() {
        createDeployment("d1");
        assertEquals(DeploymentStatus.PLANNED, store.deployment("d1").orElseThrow().status());
        assertEquals(List.of(List.of("a"), List.of("b")), store.deployment("d1").orElseThrow().batches());
        assertEquals(List.of("a", "b"), store.tasks("d1").stream().map(NodeTask::serverId).toList());
        assertEquals(1, store.events("d1", 0).size());
        assertThrows(StoreException.class, () -> createDeployment("d1"));
        assertEquals(2, store.tasks("d1").size());
    }

    @Test
    void listsDeploymentsNewestFirst() {
        store.createDeployment(deployment("old", T0), List.of(task("old", "a", 0)), statusEvent("old", 1, DeploymentStatus.PLANNED));
        store.createDeployment(deployment("new", T0.plus(1, ChronoUnit.HOURS)), List.of(task("new", "a", 0)),
                statusEvent("new", 1, DeploymentStatus.PLANNED));
        assertEquals(List.of("new", "old"), store.deployments().stream().map(DeploymentRecord::id).toList());
    }

    @Test
    void appendStoresEventTaskAndStatusTogether() {
        createDeployment("d1");
        NodeTask running = task("d1", "a", 0).with(NodeStatus.RUNNING, "install", "", T0);
        store.append(new DeployEvent.NodeStatusChanged("d1", 2, T0, "a", running.taskId(), NodeStatus.RUNNING, "install", ""),
                running, null);
        store.append(statusEvent("d1", 3, DeploymentStatus.RUNNING), null, DeploymentStatus.RUNNING);
        assertEquals(NodeStatus.RUNNING, store.tasks("d1").get(0).status());
        assertEquals("install", store.tasks("d1").get(0).step());
        assertEquals(DeploymentStatus.RUNNING, store.deployment("d1").orElseThrow().status());
        assertEquals(List.of(1L, 2L, 3L), store.events("d1", 0).stream().map(DeployEvent::seq).toList());
        assertEquals(List.of(3L), store.events("d1", 2).stream().map(DeployEvent::seq).toList());
        assertEquals(running.taskId(), ((DeployEvent.NodeStatusChanged) store.events("d1", 1).get(0)).taskId());
    }

    @Test
    void appendRefusesGapsAndDuplicatesAndWritesNothing() {
        createDeployment("d1");
        NodeTask failed = task("d1", "a", 0).with(NodeStatus.FAILED, "install", "boom", T0);
        DeployEvent gap = new DeployEvent.NodeStatusChanged("d1", 3, T0, "a", failed.taskId(), NodeStatus.FAILED, "install", "boom");
        assertThrows(StoreException.class, () -> store.append(gap, failed, DeploymentStatus.FAILED));
        DeployEvent duplicate = statusEvent("d1", 1, DeploymentStatus.FAILED);
        assertThrows(StoreException.class, () -> store.append(duplicate, failed, DeploymentStatus.FAILED));
        assertEquals(1, store.events("d1", 0).size());
        assertEquals(NodeStatus.PENDING, store.tasks("d1").get(0).status());
        assertEquals(DeploymentStatus.PLANNED, store.deployment("d1").orElseThrow().status());
    }

    @Test
    void appendToUnknownDeploymentOrTaskIsRefused() {
        assertThrows(StoreException.class, () -> store.append(statusEvent("nope", 2, DeploymentStatus.RUNNING), null, null));
        createDeployment("d1");
        NodeTask stranger = task("d1", "zzz", 0);
        assertThrows(StoreException.class, () -> store.append(statusEvent("d1", 2, DeploymentStatus.RUNNING), stranger, null));
        assertEquals(1, store.events("d1", 0).size());
    }

    @Test
    void keepsEveryEventKind() {
        createDeployment("d1");
        List<DeployEvent> events = List.of(
                new DeployEvent.BatchStarted("d1", 2, T0, 0, true, List.of("a")),
                new DeployEvent.NodeOutput("d1", 3, T0, "a", "d1-a", "install", "stdout", "héllo $(x) `y` | ;"),
                new DeployEvent.ArtifactFetched("d1", 4, T0, "a", "d1-a", "ab".repeat(32), 4096, "r1", 1024, java.util.Map.of("r1", 3072L)),
                new DeployEvent.ArtifactFetched("d1", 5, T0, "a", "d1-a", "ab".repeat(32), 4096, null, -1, java.util.Map.of()),
                new DeployEvent.BatchFinished("d1", 6, T0, 0, 1, 0, 0),
                statusEvent("d1", 7, DeploymentStatus.SUCCEEDED));
        events.forEach(e -> store.append(e, null, null));
        assertEquals(events, store.events("d1", 1));
    }

    // ---- desired state ----

    private static Pin pin(String group, String pkg, String version, Instant at) {
        DeployPlan strategy = DeployPlan.strategy().canary(BatchSize.count(1)).batch(BatchSize.count(2))
                .maxFailed(BatchSize.count(1)).rollbackOnFailure(true)
                .healthCheck(HealthCheck.of(Command.of("true"), 2, Duration.ofSeconds(1))).build();
        return new Pin(group, pkg, version, strategy.toBuilder().action(Action.install(pkg, version)).targetGroups(group).build(),
                "alice", at);
    }

    private static PinChange change(PinChange.Kind kind, String group, String pkg, String version, String server, long second) {
        return new PinChange(T0.plusSeconds(second), "alice", kind, group, pkg, version, server);
    }

    /** What a stored pin must keep; a DeployPlan has no equals, so its rollout fields are compared. */
    private static String describe(Pin p) {
        DeployPlan s = p.strategy();
        return p.key() + " " + p.version() + " by " + p.pinnedBy() + " at " + p.pinnedAt() + ": " + s.action() + " on "
                + s.target().groups() + ", canary " + s.canary() + ", batch " + s.batch() + ", maxFailed " + s.maxFailed()
                + ", rollback " + s.rollbackOnFailure() + ", health " + s.healthCheck().retries() + " " + s.healthCheck().interval();
    }

    @Test
    void storesReplacesAndRemovesPinsWithTheirHistory() {
        PinChange first = change(PinChange.Kind.PIN, "web", "app", "1.0", null, 1);
        store.putPin(pin("web", "app", "1.0", T0.plusSeconds(1)), first);
        PinChange api = change(PinChange.Kind.PIN, "api", "app", "2.0", null, 2);
        store.putPin(pin("api", "app", "2.0", T0.plusSeconds(2)), api);
        PinChange replaced = change(PinChange.Kind.PIN, "web", "app", "1.1", null, 3);
        Pin web11 = pin("web", "app", "1.1", T0.plusSeconds(3));
        store.putPin(web11, replaced);

        assertEquals(List.of(describe(pin("api", "app", "2.0", T0.plusSeconds(2))), describe(web11)),
                store.pins().stream().map(StoreContract::describe).toList(), "by group, the later pin replacing the earlier");
        PinChange unpin = change(PinChange.Kind.UNPIN, "web", "app", "1.1", null, 4);
        assertTrue(store.removePin("web", "app", unpin));
        assertFalse(store.removePin("web", "app", change(PinChange.Kind.UNPIN, "web", "app", "1.1", null, 5)));
        assertEquals(List.of("api/app"), store.pins().stream().map(Pin::key).toList());
        assertEquals(List.of(first, api, replaced, unpin), store.pinHistory(), "a refused removal is not in the history");
    }

    @Test
    void holdsAndReleasesServersRecordingEachChangeOnce() {
        PinChange holdB = change(PinChange.Kind.HOLD, null, null, null, "b", 1);
        assertTrue(store.holdServer("b", true, holdB));
        PinChange holdA = change(PinChange.Kind.HOLD, null, null, null, "a", 2);
        assertTrue(store.holdServer("a", true, holdA));
        assertFalse(store.holdServer("a", true, change(PinChange.Kind.HOLD, null, null, null, "a", 3)));
        assertEquals(List.of("a", "b"), List.copyOf(store.heldServers()));
        PinChange release = change(PinChange.Kind.RELEASE, null, null, null, "a", 4);
        assertTrue(store.holdServer("a", false, release));
        assertFalse(store.holdServer("c", false, change(PinChange.Kind.RELEASE, null, null, null, "c", 5)));
        assertEquals(Set.of("b"), store.heldServers());
        assertEquals(List.of(holdB, holdA, release), store.pinHistory());
    }

    @Test
    void namedLeaseIsRenewedByItsHolderAndFreeAgainAfterRelease() {
        assertTrue(store.acquireLease("pin:web/app"));
        assertTrue(store.acquireLease("pin:web/app"), "its holder renews it");
        assertTrue(store.acquireLease("pin:api/app"), "leases are by name");
        store.releaseLease("pin:web/app");
        assertTrue(store.acquireLease("pin:web/app"));
    }
}
