package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Requirements;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's .rpm, as the build made it (the {@code agent-rpm} profile of this module, on where
 * {@code /usr/bin/rpmbuild} exists), installed with the real {@code rpm} into a throwaway root.
 *
 * <p>Nothing is installed with {@code --nodeps} or {@code --noscripts}. The root is made just
 * usable enough for the package's scriptlets to run in it as they would on a node (rpm runs them
 * chrooted there): this machine's {@code /bin/sh} and its libraries, {@code /run/systemd/system} so
 * that they believe systemd runs, and a {@code systemctl} that only writes down what it was asked.
 * Stand-in packages, built here with rpmbuild, provide {@code /bin/sh} and a Java runtime under the
 * names the RPM distributions' OpenJDK packages use. The upgrade installs the same package one
 * release higher, built by the profile's {@code agent-rpm-upgrade-fixture} execution before the
 * integration tests; since it ships the same default agent.conf, whether a changed one survives is
 * what the upgrade can show, and the {@code noreplace} flag itself is read from the package header.
 */
class AgentRpmIT {
    private static final String JAVA_REQUIREMENT =
            "(java-17-headless or java-21-headless or java-25-headless or java-headless >= 1:17)";

    @TempDir
    Path dir;

    @Test
    void theRpmInstallsTheJarUnitConfigAndStateDirKeepsAChangedConfigThroughUpgradeAndErase() throws Exception {
        Path agentRpm = builtPackage("deploykit.agent.rpm");
        Path upgradeRpm = builtPackage("deploykit.agent.rpm.upgrade");
        Root root = Root.make(dir);
        root.install(stub("sh-stub", "1", "/bin/sh"));
        root.install(stub("java-21-openjdk-headless", "21.0.5.0.11", "java-21-headless = 1:21.0.5.0.11-1"));

        root.rpm("-i", agentRpm.toString());
        assertEquals(List.of("daemon-reload"), root.systemctlCalls(), "installed, systemd told, nothing enabled or started");
        assertEquals(nvr(root, "-qp", agentRpm.toString()), nvr(root, "-q", "deploykit-agent"));
        assertEquals(Set.of("/opt/deploykit", "/opt/deploykit/deploy-agent.jar", "/usr/lib/systemd/system/deploykit-agent.service",
                "/etc/deploykit", "/etc/deploykit/agent.conf", "/var/lib/deploykit-agent"),
                Set.copyOf(root.rpm("-ql", "deploykit-agent").lines().toList()));
        assertEquals("/etc/deploykit/agent.conf", root.rpm("-qc", "deploykit-agent").strip(), "the config is the one conffile");
        assertTrue(root.rpm("-q", "--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\\n]", "deploykit-agent").lines()
                .anyMatch(l -> l.equals("cn /etc/deploykit/agent.conf")), "%config(noreplace)");
        assertEquals("", root.rpm("-V", "deploykit-agent"), "what is on disk is what the package says: modes, owners, digests");

        Path jar = root.path("/opt/deploykit/deploy-agent.jar");
        Path unit = root.path("/usr/lib/systemd/system/deploykit-agent.service");
        Path conf = root.path("/etc/deploykit/agent.conf");
        Path state = root.path("/var/lib/deploykit-agent");
        assertMode("rw-r--r--", jar);
        assertMode("rw-r--r--", unit);
        assertMode("rw-------", conf);
        assertMode("rwx------", state);
        for (Path p : List.of(jar, unit, conf, state)) {
            assertEquals("root", Files.getOwner(p).getName(), p.toString());
        }
        String execStart = Files.readAllLines(unit).stream().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
        assertTrue(execStart.contains("-jar /opt/deploykit/deploy-agent.jar --config /etc/deploykit/agent.conf"), execStart);
        String version = run(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString(), "--version");
        assertTrue(version.startsWith("deploy-agent "), version);

        // The operator's config is theirs: rpm -V names it as changed, an upgrade keeps it.
        String changed = "controller=deploy.internal:7443\n";
        Files.writeString(conf, changed, StandardCharsets.UTF_8);
        Result verify = root.tryRpm("-V", "deploykit-agent");
        assertEquals(1, verify.exit(), verify.out());
        assertTrue(verify.out().matches("(?s)S\\.5\\.\\.\\.\\.T\\.\\s+c /etc/deploykit/agent\\.conf\\s*"), verify.out());
        root.rpm("-U", upgradeRpm.toString());
        assertEquals(nvr(root, "-qp", upgradeRpm.toString()), nvr(root, "-q", "deploykit-agent"));
        assertNotEquals(nvr(root, "-qp", agentRpm.toString()), nvr(root, "-q", "deploykit-agent"));
        assertEquals(changed, Files.readString(conf));
        assertFalse(Files.exists(root.path("/etc/deploykit/agent.conf.rpmnew")), "the default did not change, so there is nothing new to offer");
        assertEquals(List.of("daemon-reload", "daemon-reload"), root.systemctlCalls(), "an upgrade neither stops nor disables the agent");

        // An erase stops and disables the agent, removes the package's files and keeps what is not its own.
        Files.writeString(state.resolve("agent-id"), "web-01\n");
        Result erase = root.tryRpm("-e", "deploykit-agent");
        assertEquals(0, erase.exit(), erase.out());
        assertTrue(erase.out().contains("/etc/deploykit/agent.conf saved as /etc/deploykit/agent.conf.rpmsave"), erase.out());
        assertEquals(List.of("stop deploykit-agent.service", "--no-reload disable deploykit-agent.service", "daemon-reload"),
                root.systemctlCalls());
        assertFalse(Files.exists(jar) || Files.exists(unit) || Files.exists(conf), "the jar, the unit and the config are gone");
        assertFalse(Files.exists(root.path("/opt/deploykit")), "and the package's own directory");
        assertEquals(changed, Files.readString(root.path("/etc/deploykit/agent.conf.rpmsave")), "the changed config is saved");
        assertEquals("web-01\n", Files.readString(state.resolve("agent-id")), "the agent's identity stays in its state dir");
        assertEquals(1, root.tryRpm("-q", "deploykit-agent").exit(), "not installed any more");
    }

    @Test
    void theRpmNeedsAJava17OrLaterRuntimeUnderAnyNameTheRpmDistributionsGiveIt() throws Exception {
        Path agentRpm = builtPackage("deploykit.agent.rpm");
        Root root = Root.make(dir);
        root.install(stub("sh-stub", "1", "/bin/sh"));
        Result none = root.tryRpm("-i", "--test", agentRpm.toString());
        assertEquals(1, none.exit(), none.out());
        assertTrue(none.out().contains(JAVA_REQUIREMENT + " is needed by deploykit-agent"), none.out());

        // name, version, what the real package provides (java-headless only when it is the system JDK)
        record Jdk(String name, String version, String provides, boolean enough) {}
        List<Jdk> runtimes = List.of(
                new Jdk("java-1.8.0-openjdk-headless", "1.8.0.412.b08",
                        "java-1.8.0-headless = 1:1.8.0.412.b08-1, java-headless = 1:1.8.0.412.b08-1", false),
                new Jdk("java-11-openjdk-headless", "11.0.25.0.9", "java-11-headless = 1:11.0.25.0.9-1, java-headless = 1:11.0.25.0.9-1", false),
                new Jdk("java-17-openjdk-headless", "17.0.13.0.11", "java-17-headless = 1:17.0.13.0.11-1", true),
                new Jdk("java-21-openjdk-headless", "21.0.5.0.11", "java-21-headless = 1:21.0.5.0.11-1, java-headless = 1:21.0.5.0.11-1", true),
                new Jdk("java-25-openjdk-headless", "25.0.1.0.8", "java-25-headless = 1:25.0.1.0.8-1", true),
                new Jdk("java-26-openjdk-headless", "26.0.0.0.35", "java-26-headless = 1:26.0.0.0.35-1, java-headless = 1:26.0.0.0.35-1", true));
        for (Jdk runtime : runtimes) {
            root.install(stub(runtime.name(), runtime.version(), runtime.provides()));
            Result test = root.tryRpm("-i", "--test", agentRpm.toString());
            assertEquals(runtime.enough() ? 0 : 1, test.exit(), runtime + ":\n" + test.out());
            root.rpm("-e", runtime.name());
        }
    }

    /** A package of the build, named by the system property the agent-rpm profile gives failsafe. */
    private static Path builtPackage(String property) {
        Requirements.tool("rpm", "to install the agent's .rpm into a throwaway root");
        Requirements.tool("rpmbuild", "to build the agent's .rpm (this module's agent-rpm profile is on where /usr/bin/rpmbuild exists)");
        AgentFixtures.requireRoot("(rpm installs files owned by root and runs the scriptlets chrooted into the root)");
        String path = System.getProperty(property);
        if (path == null) {
            String message = "system property " + property + " is not set: the agent-rpm profile, which builds the .rpm and names it"
                    + " for this test, is off (it is on in mvn verify where /usr/bin/rpmbuild exists)";
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError(message + " (CI=true: a missing requirement fails the run)");
            }
            Assumptions.abort(message);
        }
        Path rpm = Path.of(path);
        assertTrue(Files.isRegularFile(rpm), rpm + " is missing: the agent-rpm profile builds it in package (the upgrade fixture in"
                + " pre-integration-test)");
        return rpm;
    }

    /** A package with no files that provides {@code provides} under {@code name}, as a real one would. */
    private Path stub(String name, String version, String provides) throws IOException, InterruptedException {
        Path spec = dir.resolve("stub.spec");
        if (!Files.exists(spec)) {
            Files.writeString(spec, """
                    Name: %{stub_name}
                    Version: %{stub_version}
                    Release: 1
                    Epoch: 1
                    Summary: A stand-in for AgentRpmIT that only provides what a real package would
                    License: Apache-2.0
                    BuildArch: noarch
                    Provides: %{stub_provides}
                    %description
                    A stand-in for AgentRpmIT.
                    %files
                    """);
        }
        Path top = dir.resolve("rpmbuild");
        run(Requirements.tool("rpmbuild", "to build stand-in packages").toString(), "-bb", "--quiet",
                "--define", "_topdir " + top, "--define", "stub_name " + name, "--define", "stub_version " + version,
                "--define", "stub_provides " + provides, spec.toString());
        return top.resolve("RPMS/noarch/" + name + "-" + version + "-1.noarch.rpm");
    }

    private static String nvr(Root root, String... query) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(query));
        argv.add(1, "--qf");
        argv.add(2, "%{NAME}-%{VERSION}-%{RELEASE}");
        return root.rpm(argv.toArray(String[]::new));
    }

    private static void assertMode(String expected, Path file) throws IOException {
        assertEquals(expected, PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), file.toString());
    }

    record Result(int exit, String out) {}

    /**
     * A throwaway root with its own rpm database ({@code /var/lib/rpm} in it, as on RPM distributions;
     * Debian's rpm would otherwise use {@code ~/.rpmdb}) where scriptlets can run.
     */
    record Root(Path dir, Path rpm) {
        static Root make(Path parent) throws IOException, InterruptedException {
            Path dir = parent.resolve("root");
            for (String d : List.of("bin", "usr/bin", "var/tmp", "var/log", "dev", "run/systemd/system")) {
                Files.createDirectories(dir.resolve(d));
            }
            // rpm runs each scriptlet as /bin/sh inside the root: this machine's shell, with its libraries
            Path sh = Path.of("/bin/sh");
            copyExecutable(sh, dir.resolve("bin/sh"));
            for (String library : sharedLibraries(sh)) {
                Path target = dir.resolve(library.substring(1));
                Files.createDirectories(target.getParent());
                copyExecutable(Path.of(library), target);
            }
            Path systemctl = dir.resolve("usr/bin/systemctl");
            Files.writeString(systemctl, "#!/bin/sh\necho \"$*\" >> /var/log/systemctl.log\n");
            Files.setPosixFilePermissions(systemctl, PosixFilePermissions.fromString("rwxr-xr-x"));
            Root root = new Root(dir, Requirements.tool("rpm", "to install the agent's .rpm into a throwaway root"));
            root.rpm("--initdb");
            return root;
        }

        Path path(String absolute) {
            return dir.resolve(absolute.substring(1));
        }

        void install(Path rpmFile) throws IOException, InterruptedException {
            rpm("-i", rpmFile.toString());
        }

        String rpm(String... args) throws IOException, InterruptedException {
            Result r = tryRpm(args);
            assertEquals(0, r.exit(), "rpm " + String.join(" ", args) + ":\n" + r.out());
            return r.out();
        }

        Result tryRpm(String... args) throws IOException, InterruptedException {
            List<String> argv = new ArrayList<>(List.of(rpm.toString(), "--root", dir.toString(), "--dbpath", "/var/lib/rpm"));
            argv.addAll(List.of(args));
            return exec(argv);
        }

        /** What the scriptlets asked systemctl since the last call, one call a line. */
        List<String> systemctlCalls() throws IOException {
            Path log = path("/var/log/systemctl.log");
            if (!Files.exists(log)) {
                return List.of();
            }
            List<String> calls = Files.readAllLines(log);
            Files.delete(log);
            return calls;
        }

        private static void copyExecutable(Path from, Path to) throws IOException {
            Files.copy(from, to); // follows symlinks: the file itself
            Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rwxr-xr-x"));
        }

        private static List<String> sharedLibraries(Path executable) throws IOException, InterruptedException {
            Result ldd = exec(List.of(Requirements.tool("ldd", "to copy a shell into the throwaway root").toString(), executable.toString()));
            List<String> libraries = new ArrayList<>();
            if (ldd.exit() != 0) {
                return libraries; // a static shell needs none
            }
            Matcher m = Pattern.compile("(?m)(?:=>\\s*|^\\s*)(/\\S+)").matcher(ldd.out());
            while (m.find()) {
                libraries.add(m.group(1));
            }
            return libraries;
        }
    }

    /** Lines rpm prints to stderr (Debian's rpm warns that it is not dpkg) are not part of the answer. */
    private static Result exec(List<String> argv) throws IOException, InterruptedException {
        Path err = Files.createTempFile("rpm-it", ".err");
        try {
            Process p = new ProcessBuilder(argv).redirectError(err.toFile()).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", argv));
            String errors = Files.readString(err).lines()
                    .filter(l -> !l.startsWith("rpm: RPM should not be used directly") && !l.startsWith("rpm: However assuming"))
                    .map(l -> l + "\n").reduce("", String::concat);
            return new Result(p.exitValue(), out + errors);
        } finally {
            Files.delete(err);
        }
    }

    private static String run(String... argv) throws IOException, InterruptedException {
        Result r = exec(List.of(argv));
        assertEquals(0, r.exit(), String.join(" ", argv) + ":\n" + r.out());
        return r.out();
    }
}
