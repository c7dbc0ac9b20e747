package dev.deploykit.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Requirements;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The test bed itself: hosts with their own root and address, a link that can be pulled, the machine untouched. */
class TestBedTest {
    @RegisterExtension
    static final TestBed bed = TestBed.hosts(2);

    @TempDir
    Path tmp;

    @Test
    void eachHostHasItsOwnRootAndTheMachineIsUntouched() throws Exception {
        assertEquals("h1", bed.host(1).run("cat", "/etc/hostname").output().strip());
        assertEquals("h2", bed.host(2).run("cat", "/etc/hostname").output().strip());
        assertTrue(bed.host(1).run("touch", "/etc/dk-testbed-marker").ok());
        assertTrue(bed.host(1).run("test", "-e", "/etc/dk-testbed-marker").ok());
        assertFalse(bed.host(2).run("test", "-e", "/etc/dk-testbed-marker").ok());
        assertFalse(Files.exists(Path.of("/etc/dk-testbed-marker")));
    }

    @Test
    void dpkgInstallsIntoAHostsOwnRoot() throws Exception {
        Requirements.tool("dpkg-deb", "to build the probe package");
        Path pkg = Files.createDirectories(tmp.resolve("pkg/DEBIAN"));
        Files.writeString(pkg.resolve("control"), String.join("\n", "Package: dk-testbed-probe", "Version: 1.0", "Architecture: all",
                "Maintainer: DeployKit tests <tests@deploykit.dev>", "Description: probe package for the test bed", ""));
        Path data = Files.createDirectories(tmp.resolve("pkg/usr/share/dk-testbed-probe"));
        Files.writeString(data.resolve("hello"), "hello from the probe\n");
        Path deb = tmp.resolve("probe.deb");
        Process build = new ProcessBuilder("dpkg-deb", "--root-owner-group", "--build", tmp.resolve("pkg").toString(), deb.toString())
                .redirectErrorStream(true).start();
        String out = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, build.waitFor(), out);

        bed.host(1).copyIn(deb, "/tmp/probe.deb");
        TestBed.Result install = bed.host(1).run("dpkg", "-i", "/tmp/probe.deb");
        assertTrue(install.ok(), install.output());
        assertTrue(bed.host(1).run("dpkg", "-s", "dk-testbed-probe").output().contains("Status: install ok installed"));
        assertEquals("hello from the probe", bed.host(1).run("cat", "/usr/share/dk-testbed-probe/hello").output().strip());
        assertFalse(bed.host(2).run("dpkg", "-s", "dk-testbed-probe").ok());
        Process machine = new ProcessBuilder("dpkg", "-s", "dk-testbed-probe").redirectErrorStream(true).start();
        machine.getInputStream().readAllBytes();
        assertFalse(machine.waitFor() == 0, "the machine's own dpkg database must not have the probe");
        assertFalse(Files.exists(Path.of("/usr/share/dk-testbed-probe")));
    }

    @Test
    void eachHostHasItsOwnAddressAndItsLinkCanBePulled() throws Exception {
        Requirements.tool("sshd", "to reach a test-bed host over its own address");
        Requirements.tool("ssh-keygen", "for the test's SSH key");
        Path key = tmp.resolve("id_ed25519");
        assertEquals(0, new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString()).start().waitFor());
        TestBed.Host h1 = bed.host(1);
        String hostKey = h1.startSshd(Files.readString(key.resolveSibling("id_ed25519.pub")).strip());
        Path knownHosts = Files.writeString(tmp.resolve("known_hosts"), h1.ip() + " " + hostKey + "\n");
        List<String> ssh = List.of("ssh", "-i", key.toString(), "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", "root@" + h1.ip(), "cat", "/etc/hostname");

        assertEquals("h1", runOk(ssh));
        h1.link(false);
        try {
            Process cut = new ProcessBuilder(ssh).redirectErrorStream(true).start();
            String out = new String(cut.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(255, cut.waitFor(), "ssh to a host whose link is down must fail: " + out);
        } finally {
            h1.link(true);
        }
        assertEquals("h1", runOk(ssh));
        assertEquals(h1.ip(), bed.host(1).run("sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").output().strip());
    }

    private static String runOk(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + out);
        return out.strip();
    }
}
