package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.spi.NodeContext;
import dev.deploykit.spi.support.NodeInventory;
import dev.deploykit.spi.support.NodeServices;
import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Services a script bundle declares ({@code scripts/service}) run as real processes in cgroups of
 * their own on this machine: the v1 hierarchies it has (memory, cpu, cpuacct, pids, systemd), the
 * real cgroup2 mount beside them (with none of the controllers, so limits are refused with a
 * message), a v2 layout's limit files, and no writable hierarchy at all.
 */
class ServicesTest {
    private static final Path CGROUP_FS = Path.of("/sys/fs/cgroup");
    @TempDir
    Path tmp;
    DeployKit kit;
    final List<ServiceChange> changes = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        kit = DeployKit.builder().transport(LocalTransport.create()).artifactDir(tmp.resolve("artifacts")).build();
        Files.createDirectories(root().resolve("etc"));
        Files.writeString(root().resolve("etc/os-release"), "ID=debian\nID_LIKE=debian\n");
        kit.servers().register(Server.of("node-1", Binding.local(root()), Map.of()));
        kit.servers().onService(changes::add);
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (kit.servers().get("node-1").map(s -> s.inventory().containsKey("svc-app")).orElse(false)) {
                run(DeployPlan.builder().action(Action.remove("svc-app")).targetAll().build());
            }
        } finally {
            kit.close();
        }
    }

    private Path root() {
        return tmp.resolve("root");
    }

    private Path state() {
        return root().resolve("var/lib/deploykit/services/svc-app");
    }

    private static void requireCgroupV1Memory() {
        if (!Files.isWritable(CGROUP_FS.resolve("memory/cgroup.procs"))) {
            Requirements.missing("a writable cgroup v1 memory hierarchy at /sys/fs/cgroup/memory (root on this machine's hybrid layout) "
                    + "is needed to put services in cgroups with limits");
        }
    }

    private Deployment run(DeployPlan plan) throws InterruptedException {
        Deployment d = kit.start(plan);
        assertTrue(d.await(Duration.ofMinutes(2)).isTerminal());
        assertEquals(DeploymentStatus.SUCCEEDED, d.status(), () -> d.events().toString());
        return d;
    }

    private Package publish(String version, String service, String memory, String cpu) {
        ScriptBundle b = ScriptBundle.builder("svc-app", version).script("install", "true").script("service", service);
        if (memory != null) {
            b.field("service.memory", memory);
        }
        if (cpu != null) {
            b.field("service.cpu", cpu);
        }
        return kit.packages().publish(b.writeTo(tmp.resolve("svc-app-" + version + ".tar.gz")));
    }

    private static DeployPlan install(String version) {
        return DeployPlan.builder().action(Action.install("svc-app", version)).targetAll().build();
    }

    private long pid() throws Exception {
        return Long.parseLong(Files.readString(state().resolve("pid")).trim());
    }

    /** The node's report, as an agent or SSH poll would make it, recorded by the controller. */
    private List<ServiceStatus> report() throws Exception {
        NodeInventory.Listing listing = NodeInventory.listLocally(root().toString());
        kit.servers().recordInventory("node-1", new InventoryReport(true, listing.packages(), java.util.Set.of(), listing.formats(),
                InventorySource.POLL, listing.services()));
        return kit.servers().services("node-1");
    }

    private static String cgroupLine(long pid, String controller) throws Exception {
        return Files.readAllLines(Path.of("/proc/" + pid + "/cgroup")).stream().filter(l -> l.split(":")[1].equals(controller))
                .findFirst().orElseThrow();
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting: " + what);
            Thread.sleep(100);
        }
    }

    @Test
    void aServiceRunsInItsOwnCgroupsWithItsLimitsIsRestartedByAnUpgradeAndStoppedByRemove() throws Exception {
        requireCgroupV1Memory();
        publish("1.0", "echo \"started $DEPLOYKIT_VERSION\"; exec sleep 600", "48M", "0.25");
        publish("2.0", "echo \"started $DEPLOYKIT_VERSION\"; exec sleep 600", "48M", "250m");
        run(install("1.0"));

        long first = pid();
        assertTrue(ProcessHandle.of(first).map(ProcessHandle::isAlive).orElse(false), "the service's process runs");
        String cg = NodeServices.cgroupName(new NodeContext(null, root().toString(), null), "svc-app");
        String memory = cgroupLine(first, "memory");
        assertTrue(memory.endsWith(":/deploykit-services/" + cg), memory);
        assertNotEquals(cgroupLine(ProcessHandle.current().pid(), "memory"), memory, "not in the cgroup of what started it");
        assertTrue(cgroupLine(first, "pids").endsWith(":/deploykit-services/" + cg), "out of the step's pids cgroup too");
        Path memoryCg = CGROUP_FS.resolve("memory/deploykit-services/" + cg);
        assertEquals(48L << 20, Long.parseLong(Files.readString(memoryCg.resolve("memory.limit_in_bytes")).trim()));
        assertEquals("25000", Files.readString(CGROUP_FS.resolve("cpu/deploykit-services/" + cg + "/cpu.cfs_quota_us")).trim());

        List<ServiceStatus> services = report();
        assertEquals(1, services.size(), services::toString);
        ServiceStatus s = services.get(0);
        assertEquals(ServiceStatus.State.RUNNING, s.state());
        assertEquals(first, s.pid());
        assertEquals(48L << 20, s.memoryLimit());
        assertTrue(s.memoryBytes() > 0, s::toString);
        assertEquals(List.of(ServiceStatus.State.RUNNING), changes.stream().map(c -> c.to().state()).toList());

        run(install("2.0"));
        long second = pid();
        assertNotEquals(first, second, "the upgrade restarted it");
        await("the old process to be gone", () -> ProcessHandle.of(first).map(p -> !p.isAlive()).orElse(true));
        await("the new one to log", () -> {
            try {
                return Files.readString(state().resolve("log")).contains("started 2.0");
            } catch (java.io.IOException e) {
                return false;
            }
        });
        assertEquals(second, report().get(0).pid());
        assertEquals(2, changes.size(), "a restart is a change: " + changes);

        run(DeployPlan.builder().action(Action.remove("svc-app")).targetAll().build());
        await("the service to be stopped", () -> ProcessHandle.of(second).map(p -> !p.isAlive()).orElse(true));
        assertFalse(Files.exists(memoryCg), "its cgroup is deleted");
        assertFalse(Files.exists(state()), "its state is deleted");
        assertEquals(List.of(), report());
        assertEquals(null, changes.get(changes.size() - 1).to(), "gone is a change");
    }

    @Test
    void aServiceThatOutgrowsItsMemoryLimitIsOomKilledAndReportedSo() throws Exception {
        requireCgroupV1Memory();
        // tail -c keeps the last 200 MB in memory: far past a 32 MiB limit
        publish("1.0", "head -c 300000000 /dev/zero | tail -c 200000000 > /dev/null", "32M", null);
        run(install("1.0"));
        await("the service to end", () -> Files.exists(state().resolve("exit")));

        ServiceStatus s = report().get(0);
        assertEquals(ServiceStatus.State.OOM_KILLED, s.state(), s::toString);
        assertTrue(s.oomKills() >= 1, s::toString);
        assertEquals(137, s.exitCode(), "killed by SIGKILL");
        assertEquals(ServiceStatus.State.OOM_KILLED, changes.get(changes.size() - 1).to().state());
    }

    /** Runs the service functions as the bundle's commands do, with the cgroup file system at {@code fs}. */
    private static String control(Path fs, String calls, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", NodeServices.functions() + "set +e; " + calls, "sh"));
        argv.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().put("DEPLOYKIT_CGROUP_FS", fs.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        return out;
    }

    private Path bundleDir(String service) throws Exception {
        Path dir = tmp.resolve("bundle");
        Files.createDirectories(dir.resolve("scripts"));
        Files.writeString(dir.resolve("scripts/service"), service);
        return dir;
    }

    @Test
    void withoutAWritableCgroupHierarchyItRunsWithoutLimitsAndSaysSo() throws Exception {
        Path none = Files.createDirectories(tmp.resolve("no-cgroups"));
        Path d = tmp.resolve("state");
        String started = control(none, "svc_init svc \"$1\" \"svc-nocg-$$\"; svc_start \"$2\" 33554432 500", d.toString(),
                bundleDir("exec sleep 600").toString());
        assertTrue(started.contains("no writable cgroup hierarchy on this node, so it runs without a cgroup of its own and without limits"),
                started);
        long pid = Long.parseLong(Files.readString(d.resolve("pid")).trim());
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        String cg = Files.readString(d.resolve("cgroup")).trim();
        control(none, "svc_init svc \"$1\" \"$2\"; svc_stop", d.toString(), cg);
        await("the service to be stopped by its marker", () -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
        assertFalse(Files.exists(d.resolve("pid")));
    }

    @Test
    void onTheRealCgroupV2MountWithoutControllersItIsTrackedThereAndSaysWhichLimitsItLacks() throws Exception {
        Path unified = CGROUP_FS.resolve("unified");
        if (!Files.isWritable(unified.resolve("cgroup.procs")) || Files.readString(unified.resolve("cgroup.controllers")).contains("memory")) {
            Requirements.missing("a writable cgroup2 mount without the memory controller at /sys/fs/cgroup/unified (this machine's hybrid "
                    + "layout, as root) is needed for this test");
        }
        Path d = tmp.resolve("state");
        String cg = "svc-v2-" + ProcessHandle.current().pid();
        String started = control(unified, "svc_init svc \"$1\" \"$2\"; svc_start \"$3\" 33554432 500", d.toString(), cg,
                bundleDir("exec sleep 600").toString());
        assertTrue(started.contains("no memory controller here, so it runs without its memory limit"), started);
        assertTrue(started.contains("no cpu controller here, so it runs without its CPU limit"), started);
        long pid = Long.parseLong(Files.readString(d.resolve("pid")).trim());
        await("the service to join its cgroup", () -> {
            try {
                return cgroupLine(pid, "").equals("0::/deploykit-services/" + cg);
            } catch (Exception e) {
                return false;
            }
        });
        control(unified, "svc_init svc \"$1\" \"$2\"; svc_stop", d.toString(), cg);
        await("the service to be stopped", () -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
        assertFalse(Files.exists(unified.resolve("deploykit-services/" + cg)), "its cgroup is deleted");
    }

    @Test
    void onACgroupV2LayoutTheLimitsGoToMemoryMaxAndCpuMax() throws Exception {
        // the files a cgroup2 mount with the memory, cpu and pids controllers shows (a plain directory:
        // this machine's controllers are all bound to v1)
        Path fs = Files.createDirectories(tmp.resolve("v2"));
        Files.writeString(fs.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
        Files.writeString(fs.resolve("cgroup.subtree_control"), "");
        Path g = Files.createDirectories(fs.resolve("deploykit-services/svc-fake"));
        for (String f : List.of("cgroup.procs", "memory.max", "memory.swap.max", "cpu.max", "cgroup.subtree_control")) {
            Files.writeString(g.resolve(f), "");
        }
        Path d = tmp.resolve("state");
        String started = control(fs, "svc_init svc \"$1\" svc-fake; svc_start \"$2\" 33554432 1500", d.toString(),
                bundleDir("exec sleep 600").toString());
        assertFalse(started.contains("without"), started);
        assertEquals("33554432", Files.readString(g.resolve("memory.max")).trim());
        assertEquals("0", Files.readString(g.resolve("memory.swap.max")).trim());
        assertEquals("150000 100000", Files.readString(g.resolve("cpu.max")).trim());
        assertEquals("+pids", Files.readString(fs.resolve("deploykit-services/cgroup.subtree_control")).trim(), "controllers enabled");
        long pid = Long.parseLong(Files.readString(d.resolve("pid")).trim());
        await("the service to write itself into cgroup.procs", () -> {
            try {
                return Files.readString(g.resolve("cgroup.procs")).trim().equals(Long.toString(pid));
            } catch (java.io.IOException e) {
                return false;
            }
        });
        control(fs, "svc_init svc \"$1\" svc-fake; svc_stop", d.toString());
        await("the service to be stopped", () -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
    }

    @Test
    void badLimitsAreRefusedAtPublishNamingTheValue() {
        PackageFormatException e = assertThrows(PackageFormatException.class, () -> publish("1.0", "exec sleep 1", "lots", null));
        assertTrue(e.getMessage().contains("memory limit 'lots' is not a size such as 64M"), e.getMessage());
        e = assertThrows(PackageFormatException.class, () -> publish("1.0", "exec sleep 1", null, "half"));
        assertTrue(e.getMessage().contains("CPU limit 'half' is not cores (0.5, 2) or millicores (500m)"), e.getMessage());
        e = assertThrows(PackageFormatException.class, () -> kit.packages().publish(ScriptBundle.builder("svc-app", "1.0")
                .script("install", "true").field("service.memory", "64M").writeTo(tmp.resolve("no-service.tar.gz"))));
        assertTrue(e.getMessage().contains("sets service limits, but the bundle has no scripts/service"), e.getMessage());
    }
}
