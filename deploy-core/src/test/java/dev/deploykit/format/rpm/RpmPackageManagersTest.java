package dev.deploykit.format.rpm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.Package;
import dev.deploykit.PackageMetadata;
import dev.deploykit.spi.NodeContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The branch a real RPM-family node takes, dnf, else yum, else rpm: this machine has neither dnf nor
 * yum, so the install command runs in a real shell against recording stand-ins for them, one PATH per
 * case, and the test reads which tool ran with which arguments (the command's shape).
 */
class RpmPackageManagersTest {
    @TempDir
    Path tmp;

    private static Package pkg(String version) {
        return new Package("rpm", new Artifact("a".repeat(64), 10), new PackageMetadata("shop", version, "", Map.of()), Instant.EPOCH);
    }

    /** Runs the install of {@code version} over {@code current} on a real root with only {@code tools} standing in; returns what ran. */
    private String run(List<String> tools, String version, String current) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin-" + String.join("-", tools) + "-" + version));
        for (String tool : tools) {
            Path stub = bin.resolve(tool);
            Files.writeString(stub, "#!/bin/sh\necho \"" + tool + " $*\" >> \"" + tmp.resolve("ran") + "\"\n");
            Files.setPosixFilePermissions(stub, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        Path artifact = Files.writeString(tmp.resolve("sha256-" + version), "not really an rpm");
        List<Command> commands = RpmFormat.create().install(new NodeContext(null, "/", artifact.toString()), pkg(version), current);
        assertEquals(1, commands.size(), "one command: one round trip");
        Files.deleteIfExists(tmp.resolve("ran"));
        ProcessBuilder pb = new ProcessBuilder(commands.get(0).argv()).redirectErrorStream(true);
        pb.environment().put("PATH", bin + ":/usr/bin:/bin");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        return Files.readString(tmp.resolve("ran")).trim().replace(artifact.toString(), "ARTIFACT");
    }

    @Test
    void dnfInstallsAndDowngradesWhenPresent() throws Exception {
        assertEquals("dnf -y install ARTIFACT.rpm", run(List.of("dnf", "yum", "rpm"), "2.0-1", "1.0-1"));
        assertEquals("dnf -y downgrade ARTIFACT.rpm", run(List.of("dnf", "yum", "rpm"), "1.0-1", "2.0-1"));
        assertEquals("dnf -y install ARTIFACT.rpm", run(List.of("dnf", "rpm"), "1.0-1", null));
    }

    @Test
    void yumWhenThereIsNoDnf() throws Exception {
        assertEquals("yum -y localinstall ARTIFACT.rpm", run(List.of("yum", "rpm"), "2.0-1", "1.0-1"));
        assertEquals("yum -y downgrade ARTIFACT.rpm", run(List.of("yum", "rpm"), "1.0-1", "2.0-1"));
    }

    @Test
    void rpmWhenThereIsNeither() throws Exception {
        assertEquals("rpm -U ARTIFACT.rpm", run(List.of("rpm"), "2.0-1", "1.0-1"));
        assertEquals("rpm -U --oldpackage ARTIFACT.rpm", run(List.of("rpm"), "1.0-1", "2.0-1"));
    }
}
