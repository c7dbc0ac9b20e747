package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.format.deb.DebPackages;
import dev.deploykit.format.rpm.RpmPackages;
import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real .deb and .rpm packages, built by dpkg-deb and rpmbuild, rolled out to three simulated nodes
 * (each with its own install root and package database) and rolled back, checked at every point
 * with dpkg-query and rpm -q.
 */
class PackageRolloutTest {
    @TempDir
    Path tmp;
    DeployKit kit;
    final List<String> nodes = List.of("node-1", "node-2", "node-3");

    @BeforeEach
    void setUp() {
        kit = DeployKit.builder().transport(LocalTransport.create()).artifactDir(tmp.resolve("artifacts")).build();
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    private Path root(String node) {
        return tmp.resolve("roots").resolve(node);
    }

    private void register(String osRelease) throws Exception {
        for (String node : nodes) {
            Files.createDirectories(root(node).resolve("etc"));
            Files.writeString(root(node).resolve("etc/os-release"), osRelease);
            kit.servers().register(Server.of(node, Binding.local(root(node)), Map.of()));
        }
    }

    private Deployment run(DeployPlan plan) throws InterruptedException {
        Deployment d = kit.start(plan);
        assertTrue(d.await(Duration.ofMinutes(2)).isTerminal());
        return d;
    }

    private static DeployPlan install(String name, String version) {
        return DeployPlan.builder().action(Action.install(name, version)).targetAll().batch(BatchSize.count(1)).build();
    }

    /** The real tool's answer: stdout of the command, trimmed. */
    private static String ask(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        p.waitFor();
        return out;
    }

    private String dpkgVersion(String node) throws Exception {
        return ask("dpkg-query", "--admindir=" + root(node).resolve("var/lib/dpkg"), "-W", "-f", "${db:Status-Status} ${Version}", "hello-dk");
    }

    private String rpmVersion(String node) throws Exception {
        return ask("rpm", "--root", root(node).toString(), "--dbpath", "/var/lib/rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", "hello-dk");
    }

    @Test
    void removeKeepsADebsConffilesAndPurgeDeletesThem() throws Exception {
        Requirements.tool("dpkg", "to install .deb packages into throwaway roots");
        register("ID=debian\nID_LIKE=debian\n");
        kit.packages().publish(DebPackages.withConffile(tmp, "hello-dk", "1.0-1"));
        assertEquals(DeploymentStatus.SUCCEEDED, run(install("hello-dk", "1.0-1")).status());
        DeployPlan remove = DeployPlan.builder().action(Action.remove("hello-dk")).targetServers("node-1").build();
        assertEquals(DeploymentStatus.SUCCEEDED, run(remove).status());
        DeployPlan purge = DeployPlan.builder().action(Action.purge("hello-dk")).targetServers("node-2").build();
        Deployment purged = run(purge);
        assertEquals(DeploymentStatus.SUCCEEDED, purged.status());
        assertTrue(purged.events().stream().anyMatch(e -> e instanceof DeployEvent.NodeStatusChanged n && "purge".equals(n.step())),
                "the step is named purge");

        assertEquals("config-files 1.0-1", dpkgVersion("node-1"), "remove leaves the conffile (rc)");
        assertTrue(Files.exists(root("node-1").resolve("etc/hello-dk.conf")));
        assertEquals("", dpkgVersion("node-2"), "purge leaves nothing in dpkg's database");
        assertTrue(!Files.exists(root("node-2").resolve("etc/hello-dk.conf")), "purge deletes the conffile");
        assertEquals("installed 1.0-1", dpkgVersion("node-3"), "the node not targeted keeps it");
    }

    @Test
    void debUpgradeAndRollbackAcrossThreeNodes() throws Exception {
        Requirements.tool("dpkg", "to install .deb packages into throwaway roots");
        register("ID=debian\nVERSION_ID=\"12\"\n");
        kit.packages().publish(DebPackages.build(tmp, "hello-dk", "1.0-1", "xz", null));
        kit.packages().publish(DebPackages.build(tmp, "hello-dk", "2.0-1", "zstd", null));

        assertEquals(DeploymentStatus.SUCCEEDED, run(install("hello-dk", "1.0-1")).status());
        for (String node : nodes) {
            assertEquals("installed 1.0-1", dpkgVersion(node), node);
        }
        Deployment upgrade = run(install("hello-dk", "2.0-1"));
        assertEquals(DeploymentStatus.SUCCEEDED, upgrade.status());
        for (String node : nodes) {
            assertEquals("installed 2.0-1", dpkgVersion(node), node);
            assertEquals("2.0-1\n", Files.readString(root(node).resolve("opt/hello-dk/VERSION")));
        }
        assertEquals(List.of("upgrade"), upgrade.events().stream().filter(e -> e instanceof DeployEvent.NodeStatusChanged n
                && n.serverId().equals("node-1") && n.step().equals("upgrade")).map(e -> ((DeployEvent.NodeStatusChanged) e).step()).distinct().toList());

        Deployment back = run(DeployPlan.builder().action(Action.rollback(upgrade.id())).targetAll().build());
        assertEquals(DeploymentStatus.SUCCEEDED, back.status());
        for (String node : nodes) {
            assertEquals("installed 1.0-1", dpkgVersion(node), node);
            assertEquals("1.0-1", kit.servers().get(node).orElseThrow().inventory().get("hello-dk"));
        }

        assertEquals(DeploymentStatus.SUCCEEDED, run(DeployPlan.builder().action(Action.remove("hello-dk")).targetAll().build()).status());
        for (String node : nodes) {
            assertTrue(!dpkgVersion(node).startsWith("installed"), node);
        }
    }

    @Test
    void rpmUpgradeAndRollbackAcrossThreeNodes() throws Exception {
        Requirements.tool("rpm", "to install .rpm packages into throwaway roots");
        register("NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n");
        kit.packages().publish(RpmPackages.build(tmp, "hello-dk", "1.0-1"));
        kit.packages().publish(RpmPackages.build(tmp, "hello-dk", "1.10-1"));

        assertEquals(DeploymentStatus.SUCCEEDED, run(install("hello-dk", "1.0-1")).status());
        for (String node : nodes) {
            assertEquals("1.0-1", rpmVersion(node), node);
        }
        Deployment upgrade = run(install("hello-dk", "1.10-1"));
        assertEquals(DeploymentStatus.SUCCEEDED, upgrade.status());
        for (String node : nodes) {
            assertEquals("1.10-1", rpmVersion(node), node);
        }
        Deployment back = run(DeployPlan.builder().action(Action.rollback(upgrade.id())).targetAll().build());
        assertEquals(DeploymentStatus.SUCCEEDED, back.status(), back.tasks().toString());
        for (String node : nodes) {
            assertEquals("1.0-1", rpmVersion(node), node);
            assertEquals("1.0-1\n", Files.readString(root(node).resolve("opt/hello-dk/VERSION")));
        }
    }

    @Test
    void failingMaintainerScriptFailsTheNodeWithItsStderr() throws Exception {
        Requirements.tool("dpkg", "to install .deb packages into throwaway roots");
        register("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n");
        kit.packages().publish(DebPackages.build(tmp, "hello-dk", "1.0-1", "xz",
                "echo \"cannot open /etc/hello-dk/license: no such file\" >&2\nexit 1"));
        Deployment d = run(install("hello-dk", "1.0-1"));
        assertEquals(DeploymentStatus.FAILED, d.status());
        NodeTask failed = d.tasks().get(0);
        assertEquals(NodeStatus.FAILED, failed.status());
        assertTrue(failed.message().contains("maintainer script failed"), failed.message());
        assertTrue(failed.message().contains("cannot open /etc/hello-dk/license"), failed.message());
        assertTrue(d.events().stream().anyMatch(e -> e instanceof DeployEvent.NodeOutput o && o.stream().equals("stderr")
                && o.line().contains("cannot open /etc/hello-dk/license")));
        assertEquals(NodeStatus.CANCELLED, d.tasks().get(1).status(), "the budget of 0 stops the rollout");
    }

    @Test
    void aDebIsNotSentToAnRpmNode() throws Exception {
        register("NAME=\"openEuler\"\nID=\"openEuler\"\nVERSION_ID=\"22.03\"\n");
        kit.packages().publish(DebPackages.build(tmp, "hello-dk", "1.0-1", "gzip", null));
        Deployment d = run(install("hello-dk", "1.0-1"));
        assertEquals(DeploymentStatus.FAILED, d.status());
        assertTrue(d.tasks().get(0).message().contains("cannot be installed on openeuler 22.03, a rpm system"), d.tasks().get(0).message());
        assertTrue(!Files.exists(root("node-1").resolve("var/lib/dpkg/status")), "nothing ran on the node");
    }
}
