package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Requirements;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's .deb, as the build made it ({@code target/deploykit-agent_*_all.deb}), installed with
 * the real {@code dpkg} into a throwaway root (maintainer scripts run chrootless with
 * {@code DPKG_ROOT} set, so they touch nothing of this machine): the jar, the unit and the config
 * land where the unit expects them, the installed jar runs, a changed config survives a reinstall
 * and a removal, and the package goes away cleanly. Runs in {@code verify}, after {@code package}.
 */
class AgentDebIT {
    @TempDir
    Path dir;

    @Test
    void theDebInstallsTheJarUnitAndConfigAndRemovesCleanly() throws Exception {
        Path dpkg = Requirements.tool("dpkg", "to install the agent's .deb into a throwaway root");
        AgentFixtures.requireRoot("(dpkg installs files owned by root)");
        Path deb;
        try (Stream<Path> files = Files.list(Path.of("target"))) {
            deb = files.filter(f -> f.getFileName().toString().matches("deploykit-agent_.*_all\\.deb")).findFirst()
                    .orElseThrow(() -> new AssertionError("no deploykit-agent_*_all.deb in target/: the package phase makes it"));
        }
        Path root = dir.resolve("root");
        Path admin = Files.createDirectories(root.resolve("var/lib/dpkg"));
        Files.createDirectories(admin.resolve("info"));
        Files.createDirectories(admin.resolve("updates"));
        Files.writeString(admin.resolve("status"), "");

        run(dpkg.toString(), "--root=" + root, "--force-script-chrootless", "--force-depends", "-i", deb.toAbsolutePath().toString());
        Path jar = root.resolve("opt/deploykit/deploy-agent.jar");
        Path unit = root.resolve("lib/systemd/system/deploykit-agent.service");
        Path conf = root.resolve("etc/deploykit/agent.conf");
        assertTrue(Files.isRegularFile(jar) && Files.isRegularFile(unit) && Files.isRegularFile(conf));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(conf)), "the config may hold paths to secrets");
        assertTrue(run(dpkg.toString(), "--root=" + root, "-s", "deploykit-agent").contains("Status: install ok installed"));
        String execStart = Files.readAllLines(unit).stream().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
        assertTrue(execStart.contains("-jar /opt/deploykit/deploy-agent.jar --config /etc/deploykit/agent.conf"), execStart);
        String version = run(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString(), "--version");
        assertTrue(version.startsWith("deploy-agent "), version);

        // The operator's config is theirs: kept through a reinstall and a removal, gone only with a purge.
        Files.writeString(conf, "controller=deploy.internal:7443\n", StandardCharsets.UTF_8);
        run(dpkg.toString(), "--root=" + root, "--force-script-chrootless", "--force-depends", "--force-confold", "-i",
                deb.toAbsolutePath().toString());
        assertEquals("controller=deploy.internal:7443\n", Files.readString(conf));
        run(dpkg.toString(), "--root=" + root, "--force-script-chrootless", "-r", "deploykit-agent");
        assertFalse(Files.exists(jar) || Files.exists(unit), "the jar and the unit are removed");
        assertTrue(Files.exists(conf), "a removal keeps the config");
        run(dpkg.toString(), "--root=" + root, "--force-script-chrootless", "--purge", "deploykit-agent");
        assertFalse(Files.exists(conf), "a purge removes it");
    }

    private static String run(String... argv) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(List.of(argv))).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", argv));
        assertEquals(0, p.exitValue(), String.join(" ", argv) + ":\n" + out);
        return out;
    }
}
