package dev.deploykit.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.HealthCheck;
import dev.deploykit.Liveness;
import dev.deploykit.NodePreview;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.Outputs;
import dev.deploykit.Package;
import dev.deploykit.PreviewOptions;
import dev.deploykit.Script;
import dev.deploykit.Requirements;
import dev.deploykit.ScriptSet;
import dev.deploykit.ServiceChange;
import dev.deploykit.ServiceStatus;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.format.rpm.RpmPackages;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.testbed.TestBed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Production package paths on real hosts (docs/testing.md): h1 and h2 run the agent installed from
 * its .deb, h3 is reached over SSH as a non-root account with {@code sudo=true}, h4 is an
 * RPM-family node (its os-release says openEuler) with an agent. Real Debian packages go through
 * {@code apt-get} and rpm packages through {@code rpm} on each host's own {@code /}; this machine's
 * packages are never touched.
 */
class RealNodesIT {
    @RegisterExtension
    static final TestBed bed = TestBed.hosts(4);
    static Path dir;
    static RealHosts hosts;
    static String machineBefore;

    @BeforeAll
    static void start() throws Exception {
        machineBefore = RealHosts.machinePackages();
        dir = Files.createTempDirectory("dk-real-nodes-");
        hosts = RealHosts.start(dir, List.of(bed.host(3)));
        hosts.installAgent(bed.host(1), "role=web");
        hosts.installAgent(bed.host(2), "role=web");
        hosts.registerSsh(bed.host(3), Map.of("role", "web"));
        // h4 says it is openEuler (its own /etc/os-release): an RPM-family node, with rpm and no dnf or yum
        bed.host(4).check("rm", "-f", "/etc/os-release");
        bed.host(4).write("/etc/os-release", "NAME=\"openEuler\"\nVERSION=\"22.03 (LTS-SP3)\"\nID=\"openEuler\"\nVERSION_ID=\"22.03\"\n");
        hosts.installAgent(bed.host(4), "role=rpm");
    }

    @AfterAll
    static void stop() throws Exception {
        if (hosts != null) {
            hosts.close();
        }
        assertEquals(machineBefore, RealHosts.machinePackages(), "this machine's own dpkg -l is untouched");
    }

    private static String dpkgVersion(TestBed.Host host, String pkg) throws Exception {
        TestBed.Result r = host.run("dpkg-query", "-W", "-f", "${db:Status-Status} ${Version}", pkg);
        return r.ok() && r.output().startsWith("installed ") ? r.output().substring("installed ".length()).strip() : null;
    }

    /** Each node's status, step and message, and the output of the nodes that failed: what a failed assertion shows. */
    private static String summary(Deployment d) {
        return d.tasks().stream().map(t -> t.serverId() + " " + t.status() + " " + t.step() + ": " + t.message()
                + (t.status() == NodeStatus.SUCCEEDED ? "" : "\n  " + d.events().stream().filter(DeployEvent.NodeOutput.class::isInstance)
                        .map(DeployEvent.NodeOutput.class::cast).filter(o -> o.serverId().equals(t.serverId()))
                        .map(o -> o.step() + "| " + o.line()).collect(Collectors.joining("\n  "))))
                .collect(Collectors.joining("\n"));
    }

    private static List<TestBed.Host> webHosts() {
        return bed.hosts().subList(0, 3);
    }

    @Test
    void helloIsInstalledUpgradedAndRolledBackWithAptGetThroughAgentsAndSudo() throws Exception {
        DeployKit kit = hosts.kit;
        Path original = DebianPackages.download("hello");
        Package v1 = kit.packages().publish(original);
        Package v2 = kit.packages().publish(DebianPackages.rebuild(original, v1.version() + "+dk1", dir));
        for (TestBed.Host h : webHosts()) {
            assertEquals(null, dpkgVersion(h, "hello"), h + " starts without hello");
        }

        Deployment install = kit.start(DeployPlan.builder().action(Action.install("hello", v1.version())).targetSelector("role=web")
                .batch(BatchSize.count(3)).build());
        assertEquals(DeploymentStatus.SUCCEEDED, install.await(Duration.ofMinutes(3)), summary(install));
        for (TestBed.Host h : webHosts()) {
            assertEquals(v1.version(), dpkgVersion(h, "hello"), h.toString());
            assertTrue(h.check("hello").contains("Hello, world!"), "the installed program runs on " + h);
        }

        // the upgrade is healthy on h1 and h3, not on h2: every node goes back to the original version
        bed.host(2).write("/etc/hello-unhealthy", "");
        Deployment upgrade = kit.start(DeployPlan.builder().action(Action.install("hello", v2.version())).targetSelector("role=web")
                .batch(BatchSize.count(3)).rollbackOnFailure(true)
                .healthCheck(HealthCheck.of(Command.shell("test ! -e /etc/hello-unhealthy && hello >/dev/null"), 0, Duration.ofMillis(100)))
                .build());
        assertEquals(DeploymentStatus.ROLLED_BACK, upgrade.await(Duration.ofMinutes(3)), summary(upgrade));
        Map<String, NodeTask> tasks = upgrade.tasks().stream().collect(Collectors.toMap(NodeTask::serverId, t -> t));
        for (TestBed.Host h : webHosts()) {
            assertEquals(NodeStatus.ROLLED_BACK, tasks.get(h.name()).status(), summary(upgrade));
            assertEquals(h.name().equals("h2"), tasks.get(h.name()).message().contains("health-check failed"), summary(upgrade));
        }
        for (TestBed.Host h : webHosts()) {
            assertEquals(v1.version(), dpkgVersion(h, "hello"), h + " is back on the original version");
            String history = h.check("cat", "/var/log/apt/history.log");
            assertTrue(history.contains("Upgrade: hello:amd64 (" + v1.version() + ", " + v2.version() + ")"), h + ": " + history);
            assertTrue(history.contains("Downgrade: hello:amd64 (" + v2.version() + ", " + v1.version() + ")"),
                    h + " rolled back with apt-get: " + history);
            assertEquals(v1.version(), kit.servers().get(h.name()).orElseThrow().inventory().get("hello"), h + "'s inventory");
        }
        bed.host(2).check("rm", "/etc/hello-unhealthy");

        // behind DeployKit's back h2 gets a hello it never published: the preview says the rollback could not go there
        Path outside = DebianPackages.rebuild(original, "2.10-2", dir);
        bed.host(2).copyIn(outside, "/var/tmp/hello-outside.deb");
        bed.host(2).check("dpkg", "-i", "/var/tmp/hello-outside.deb");
        List<NodePreview> preview = kit.preview(DeployPlan.builder().action(Action.install("hello", v2.version()))
                .targetSelector("role=web").rollbackOnFailure(true).build(), PreviewOptions.live());
        Map<String, NodePreview> byNode = preview.stream().collect(Collectors.toMap(NodePreview::serverId, p -> p));
        assertEquals("2.10-2", byNode.get("h2").currentVersion(), "read live from h2's dpkg");
        assertTrue(String.valueOf(byNode.get("h2").rollbackNote()).startsWith("cannot roll back: hello 2.10-2 (on the node now) is not published"),
                String.valueOf(byNode.get("h2").rollbackNote()));
        assertEquals(null, byNode.get("h1").rollbackNote(), "h1 is on " + v1.version() + ", which is published");
    }

    @Test
    void jqInstallsWithItsLibrariesWhereTheyAreAbsent() throws Exception {
        TestBed.Host h1 = bed.host(1);
        List<String> libraries = List.of("libjq1", "libonig5");
        // apt-get, not dpkg: it also purges what depends on them here (yq)
        h1.check("apt-get", "purge", "-y", "-q", "jq", "libjq1", "libonig5");
        for (String lib : libraries) {
            assertEquals(null, dpkgVersion(h1, lib), lib + " is absent from h1");
            // the host has no route to a mirror: its apt finds the libraries where its own download would put them
            Path deb = DebianPackages.download(lib);
            h1.copyIn(deb, "/var/cache/apt/archives/" + deb.getFileName());
        }
        Package jq = hosts.kit.packages().publish(DebianPackages.download("jq"));
        Deployment d = hosts.kit.start(DeployPlan.builder().action(Action.install("jq", jq.version())).targetServers("h1").build());
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(3)), summary(d));
        for (String lib : libraries) {
            assertTrue(dpkgVersion(h1, lib) != null, lib + " was installed by apt-get as jq's dependency");
        }
        assertEquals(jq.version(), dpkgVersion(h1, "jq"));
        assertEquals("2\n", h1.run(new byte[0], "sh", "-c", "echo '{\"a\":[1,2]}' | jq '.a | length'").output(), "jq runs with its libraries");
    }

    @Test
    void aRpmGoesInstallUpgradeRollbackRemoveWithRpmOnTheHostsRoot() throws Exception {
        TestBed.Host h4 = bed.host(4);
        DeployKit kit = hosts.kit;
        Package v1 = kit.packages().publish(RpmPackages.build(dir, "dk-real-rpm", "1.0-1"));
        Package v2 = kit.packages().publish(RpmPackages.build(dir, "dk-real-rpm", "2.0-1"));
        Deployment install = kit.start(DeployPlan.builder().action(Action.install(v1.name(), v1.version())).targetServers("h4").build());
        assertEquals(DeploymentStatus.SUCCEEDED, install.await(Duration.ofMinutes(2)), summary(install));
        assertEquals("dk-real-rpm-1.0-1.noarch", h4.check("rpm", "-q", "dk-real-rpm").strip());

        Deployment upgrade = kit.start(DeployPlan.builder().action(Action.install(v2.name(), v2.version())).targetServers("h4").build());
        assertEquals(DeploymentStatus.SUCCEEDED, upgrade.await(Duration.ofMinutes(2)), summary(upgrade));
        assertEquals("dk-real-rpm-2.0-1.noarch", h4.check("rpm", "-q", "dk-real-rpm").strip());
        assertEquals("2.0-1", h4.check("cat", "/opt/dk-real-rpm/VERSION").strip());

        Deployment rollback = kit.start(DeployPlan.builder().action(Action.rollback(upgrade.id())).targetServers("h4").build());
        assertEquals(DeploymentStatus.SUCCEEDED, rollback.await(Duration.ofMinutes(2)), summary(rollback));
        assertEquals("dk-real-rpm-1.0-1.noarch", h4.check("rpm", "-q", "dk-real-rpm").strip(), "rolled back with rpm --oldpackage");
        assertEquals("1.0-1", h4.check("cat", "/opt/dk-real-rpm/VERSION").strip());

        Deployment remove = kit.start(DeployPlan.builder().action(Action.remove(v1.name())).targetServers("h4").build());
        assertEquals(DeploymentStatus.SUCCEEDED, remove.await(Duration.ofMinutes(2)), summary(remove));
        TestBed.Result gone = h4.run("rpm", "-q", "dk-real-rpm");
        assertEquals(1, gone.exit(), gone.output());
        assertTrue(gone.output().contains("package dk-real-rpm is not installed"), gone.output());
        assertFalse(h4.run("test", "-e", "/opt/dk-real-rpm/VERSION").ok(), "its files are gone");
        assertEquals(null, kit.servers().get("h4").orElseThrow().inventory().get("dk-real-rpm"));
    }

    @Test
    void aHeldDpkgLockFailsTheNodeSayingSoAndARetryAfterItIsFreedSucceeds() throws Exception {
        TestBed.Host h2 = bed.host(2);
        Package tree = hosts.kit.packages().publish(DebianPackages.download("tree"));
        h2.run("dpkg", "--purge", "tree");
        Path holderLog = dir.resolve("lock-holder.log");
        Process holder = h2.start(holderLog, "python3", "-c", "import fcntl, time\n"
                + "f = open('/var/lib/dpkg/lock-frontend', 'w')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(600)");
        try {
            AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> read(holderLog).contains("locked"), "the lock to be taken");
            Deployment d = hosts.kit.start(DeployPlan.builder().action(Action.install("tree", tree.version())).targetServers("h2")
                    .stepTimeout(Duration.ofSeconds(15)).build());
            assertEquals(DeploymentStatus.FAILED, d.await(Duration.ofMinutes(2)), summary(d));
            String message = d.tasks().get(0).message();
            assertTrue(message.contains("the dpkg lock is held by another process"), message);
            holder.destroyForcibly();
            holder.waitFor();
            d.retryFailed();
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(2)), summary(d));
            assertEquals(tree.version(), dpkgVersion(h2, "tree"));
        } finally {
            holder.destroyForcibly();
        }
    }

    @Test
    void aLinkDownForTwentySecondsMidStepReconnectsAndFinishesWithTheStepRunOnce() throws Exception {
        TestBed.Host h2 = bed.host(2);
        h2.run("rm", "-f", "/var/tmp/link-runs");
        Deployment d = hosts.kit.start(DeployPlan.builder().action(Action.runScripts(ScriptSet.of("slow",
                Script.of("work", Command.shell("echo run >> /var/tmp/link-runs; sleep 8; echo finished"))))).targetServers("h2").build());
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> {
            try {
                return h2.run("test", "-s", "/var/tmp/link-runs").ok();
            } catch (Exception e) {
                return false;
            }
        }, "the step to start on h2");
        h2.link(false);
        try {
            Thread.sleep(15_000);
            assertEquals(Liveness.OFFLINE, Liveness.of(hosts.kit.servers().get("h2").orElseThrow(), Instant.now(),
                    AgentFixtures.FAST_LIVENESS), "the controller lost h2 while its link was down");
            assertFalse(d.status().isTerminal(), "the step waits for its agent: " + summary(d));
            Thread.sleep(5_000);
        } finally {
            h2.link(true);
        }
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(3)), summary(d));
        assertEquals("run\n", h2.check("cat", "/var/tmp/link-runs"), "the step ran exactly once");
        assertEquals(List.of("finished"), Outputs.byServer(d, "script:work").get("h2"), "its output reached the controller");
    }

    /** The state the controller last heard of service {@code name} on {@code server}, or null. */
    private static ServiceStatus service(String server, String name) {
        return hosts.kit.servers().services(server).stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
    }

    private static String memoryCgroup(long pid) throws java.io.IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/cgroup")).stream().filter(l -> l.contains(":memory:")).findFirst().orElseThrow();
    }

    @Test
    void aServiceLivesInItsOwnCgroupSurvivesTheAgentsKillAndRestartAndIsOomKilledAtItsLimitWithAnEvent() throws Exception {
        if (!Files.isWritable(Path.of("/sys/fs/cgroup/memory/cgroup.procs"))) {
            Requirements.missing("a writable cgroup v1 memory hierarchy (this machine's hybrid layout, as root) is needed for services with limits");
        }
        TestBed.Host h1 = bed.host(1);
        TestBed.Host h3 = bed.host(3);
        for (TestBed.Host h : List.of(h1, h3)) {
            h.run("rm", "-f", "/var/tmp/grow");
        }
        List<ServiceChange> changes = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable listening = hosts.kit.servers().onService(changes::add)) {
            // grows past its limit once /var/tmp/grow exists: tail -c holds 200 MB in memory
            hosts.kit.packages().publish(ScriptBundle.builder("svc-real", "1.0").script("install", "true")
                    .script("service", "set -e; echo up; while :; do if [ -f /var/tmp/grow ]; then"
                            + " head -c 300000000 /dev/zero | tail -c 200000000 > /dev/null; fi; sleep 0.2; done")
                    .field("service.memory", "32M").field("service.cpu", "0.5").writeTo(dir.resolve("svc-real-1.0.tar.gz")));
            Deployment d = hosts.kit.start(DeployPlan.builder().action(Action.install("svc-real", "1.0")).targetServers("h1", "h3").build());
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(3)), summary(d));

            AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> service("h1", "svc-real") != null && service("h3", "svc-real") != null,
                    "both nodes to report the service: " + changes);
            for (String server : List.of("h1", "h3")) {
                ServiceStatus s = service(server, "svc-real");
                assertEquals(ServiceStatus.State.RUNNING, s.state(), server + ": " + s);
                assertEquals(32L << 20, s.memoryLimit(), server + ": " + s);
                assertTrue(memoryCgroup(s.pid()).endsWith(":memory:/deploykit-services/svc-real"), server + ": " + memoryCgroup(s.pid()));
            }
            long pid = service("h1", "svc-real").pid();
            assertFalse(memoryCgroup(pid).equals(memoryCgroup(hosts.agentPid(h1))), "not in the agent's cgroup");
            assertTrue(ProcessHandle.of(service("h3", "svc-real").pid()).orElseThrow().isAlive(), "alive after its SSH session ended");

            long fullReports = read(hosts.log(h1)).lines().filter(l -> l.contains("inventory report: full")).count();
            int eventsBefore = changes.size();
            hosts.killAgent(h1);
            assertTrue(ProcessHandle.of(pid).orElseThrow().isAlive(), "kill -9 of the agent leaves the service running");
            hosts.startAgent(h1);
            AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> read(hosts.log(h1)).lines().filter(l -> l.contains("inventory report: full"))
                    .count() > fullReports, "h1's restarted agent to send its full report");
            assertTrue(ProcessHandle.of(pid).orElseThrow().isAlive(), "the restarted agent leaves the service running");
            assertEquals(pid, service("h1", "svc-real").pid());
            assertEquals(List.of(), changes.subList(eventsBefore, changes.size()).stream().filter(c -> c.serverId().equals("h1")).toList(),
                    "the restarted agent's report says the same process runs: no change");

            h1.write("/var/tmp/grow", "");
            AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> changes.stream().anyMatch(c -> c.serverId().equals("h1") && c.to() != null
                    && c.to().state() == ServiceStatus.State.OOM_KILLED), "an OOM_KILLED event from h1: " + changes);
            ServiceStatus killed = service("h1", "svc-real");
            assertTrue(killed.oomKills() >= 1, killed::toString);
            assertEquals(137, killed.exitCode(), killed::toString);
            assertEquals(ServiceStatus.State.RUNNING, service("h3", "svc-real").state(), "h3's service was not asked to grow");

            long h3pid = service("h3", "svc-real").pid();
            Deployment removal = hosts.kit.start(DeployPlan.builder().action(Action.remove("svc-real")).targetServers("h1", "h3").build());
            assertEquals(DeploymentStatus.SUCCEEDED, removal.await(Duration.ofMinutes(3)), summary(removal));
            AgentFixtures.waitUntil(Duration.ofSeconds(10), () -> ProcessHandle.of(h3pid).map(p -> !p.isAlive()).orElse(true),
                    "remove to stop h3's service");
            assertFalse(Files.exists(Path.of("/sys/fs/cgroup/memory/deploykit-services/svc-real")), "its cgroup is gone");
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
