package dev.deploykit.testbed;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit 5 extension that gives a test class N real hosts on this machine ({@code testbed.sh},
 * next to this class in the test-jar, does the work; docs/testing.md): each with its own network
 * namespace and IP ({@code 10.78.0.<10+i>}, a veth on the bridge {@code dktb0}, so its link can be
 * pulled) and its own mount namespace whose {@code /} is an overlay of this machine's root, so
 * {@code apt-get}, {@code dpkg}, {@code rpm} and services act on a real, complete {@code /} while
 * the machine itself stays untouched. Created before the class's tests, removed after them.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final TestBed bed = TestBed.hosts(3);
 * ...
 * bed.host(1).run("dpkg", "-s", "hello");
 * }</pre>
 *
 * <p>Needs root, {@code ip}, {@code unshare}, {@code nsenter} and overlayfs: without them the test
 * class is skipped with a message naming what is missing, and under {@code CI=true} it fails.
 */
public final class TestBed implements BeforeAllCallback, AfterAllCallback {
    private final int count;
    private final List<Host> hosts = new ArrayList<>();
    private Path script;

    private TestBed(int count) {
        this.count = count;
    }

    /** A test bed of {@code count} hosts, {@code h1} to {@code h<count>}. */
    public static TestBed hosts(int count) {
        return new TestBed(count);
    }

    /** Host {@code i}, counted from 1. */
    public Host host(int i) {
        return hosts.get(i - 1);
    }

    public List<Host> hosts() {
        return List.copyOf(hosts);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        require();
        script = Files.createTempFile("testbed-", ".sh", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try (InputStream in = TestBed.class.getResourceAsStream("testbed.sh")) {
            Files.write(script, in.readAllBytes());
        }
        Result down = bash(List.of("down"), null);
        if (down.exit() != 0) {
            throw new IllegalStateException("testbed.sh down (leftovers of an earlier run) failed: " + down.output());
        }
        Result up = bash(List.of("up", Integer.toString(count)), null);
        if (up.exit() != 0) {
            throw new IllegalStateException("testbed.sh up " + count + " failed: " + up.output());
        }
        for (String line : up.output().strip().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 2 && f[0].matches("h[0-9]+")) {
                hosts.add(new Host(this, f[0], f[1]));
            }
        }
        if (hosts.size() != count) {
            throw new IllegalStateException("testbed.sh up " + count + " reported: " + up.output());
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (script != null) {
            Result down = bash(List.of("down"), null);
            Files.deleteIfExists(script);
            if (down.exit() != 0) {
                throw new IllegalStateException("testbed.sh down failed: " + down.output());
            }
        }
    }

    private static void require() throws IOException {
        List<String> missing = new ArrayList<>();
        if (!"root".equals(System.getProperty("user.name"))) {
            missing.add("root (network and mount namespaces)");
        }
        for (String tool : List.of("ip", "unshare", "nsenter", "chroot")) {
            if (List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin").stream().noneMatch(d -> Files.isExecutable(Path.of(d, tool)))) {
                missing.add("'" + tool + "'");
            }
        }
        if (!Files.readString(Path.of("/proc/filesystems")).contains("overlay")) {
            missing.add("overlayfs in the kernel");
        }
        if (!missing.isEmpty()) {
            String message = "the test bed of real hosts needs " + String.join(", ", missing);
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError(message + " (CI=true: a missing part fails the run)");
            }
            Assumptions.abort(message);
        }
    }

    Result bash(List<String> args, byte[] stdin) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("bash", script.toString()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        if (stdin == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        Process p = pb.start();
        if (stdin != null) {
            try (var out = p.getOutputStream()) {
                out.write(stdin);
            }
        }
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", cmd) + " did not finish in 10 minutes");
        }
        return new Result(p.exitValue(), new String(output, StandardCharsets.UTF_8));
    }

    /** A command's exit code and its output (stdout and stderr together). */
    public record Result(int exit, String output) {
        public boolean ok() {
            return exit == 0;
        }
    }

    /** One host of the test bed: its name ({@code h1}...) and IP address. */
    public static final class Host {
        private final TestBed bed;
        private final String name;
        private final String ip;

        Host(TestBed bed, String name, String ip) {
            this.bed = bed;
            this.name = name;
            this.ip = ip;
        }

        public String name() {
            return name;
        }

        public String ip() {
            return ip;
        }

        /** Runs {@code argv} as root inside the host (its {@code /}, its network) and waits for it. */
        public Result run(String... argv) throws IOException, InterruptedException {
            List<String> args = new ArrayList<>(List.of("exec", name));
            args.addAll(List.of(argv));
            return bed.bash(args, null);
        }

        /** {@link #run} with {@code stdin} as the command's standard input. */
        public Result run(byte[] stdin, String... argv) throws IOException, InterruptedException {
            List<String> args = new ArrayList<>(List.of("exec", name));
            args.addAll(List.of(argv));
            return bed.bash(args, stdin);
        }

        /**
         * Starts {@code argv} as root inside the host without waiting for it, its output (stdout and
         * stderr) appended to {@code log} on this machine. The process is {@code argv} itself
         * ({@code nsenter} execs it), so destroying it signals the command.
         */
        public Process start(Path log, String... argv) throws IOException {
            List<String> cmd = new ArrayList<>(List.of("bash", bed.script.toString(), "exec", name));
            cmd.addAll(List.of(argv));
            return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        }

        /** Writes {@code content} to {@code target} inside the host, creating its directory. */
        public void write(String target, String content) throws IOException, InterruptedException {
            Result r = run(content.getBytes(StandardCharsets.UTF_8), "sh", "-c", "mkdir -p \"$(dirname \"$1\")\" && cat > \"$1\"", "sh",
                    target);
            if (!r.ok()) {
                throw new IllegalStateException("writing " + name + ":" + target + " failed: " + r.output());
            }
        }

        /** {@link #run}, failing with the command's output when it exits non-zero; returns the output. */
        public String check(String... argv) throws IOException, InterruptedException {
            Result r = run(argv);
            if (!r.ok()) {
                throw new IllegalStateException(String.join(" ", argv) + " on " + name + " exited " + r.exit() + ": " + r.output());
            }
            return r.output();
        }

        /** Copies {@code file} from this machine to {@code target} inside the host. */
        public void copyIn(Path file, String target) throws IOException, InterruptedException {
            Result r = run(Files.readAllBytes(file), "sh", "-c", "cat > \"$1\"", "sh", target);
            if (!r.ok()) {
                throw new IllegalStateException("copying " + file + " to " + name + ":" + target + " failed: " + r.output());
            }
        }

        /**
         * Starts an OpenSSH {@code sshd} on port 22 of the host, with a host key of its own (made in the
         * host's overlay) and {@code authorizedKeys} (lines) for every account; returns the host key's
         * public line for a known_hosts file.
         */
        public String startSshd(String authorizedKeys) throws IOException, InterruptedException {
            String setup = String.join("\n",
                    "set -e",
                    "rm -f /etc/ssh/ssh_host_*; ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key",
                    "printf '%s\\n' \"$1\" > /etc/ssh/dk_testbed_authorized_keys",
                    "chmod 644 /etc/ssh/dk_testbed_authorized_keys",
                    "cat > /etc/ssh/dk_testbed_sshd_config <<EOF",
                    "Port 22",
                    "ListenAddress " + ip,
                    "HostKey /etc/ssh/ssh_host_ed25519_key",
                    "AuthorizedKeysFile /etc/ssh/dk_testbed_authorized_keys",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "PermitRootLogin prohibit-password",
                    "Subsystem sftp internal-sftp",
                    "PidFile /run/sshd.pid",
                    "EOF",
                    "mkdir -p /run/sshd",
                    "/usr/sbin/sshd -f /etc/ssh/dk_testbed_sshd_config",
                    "cat /etc/ssh/ssh_host_ed25519_key.pub");
            Result r = run("sh", "-c", setup, "sh", authorizedKeys);
            if (!r.ok()) {
                throw new IllegalStateException("sshd did not start on " + name + ": " + r.output());
            }
            String[] lines = r.output().strip().split("\n");
            return lines[lines.length - 1];
        }

        /** Brings the host's link up or down (its veth on the bridge), as a cable pulled and put back. */
        public void link(boolean up) throws IOException, InterruptedException {
            Result r = bed.bash(List.of("link", name, up ? "up" : "down"), null);
            if (!r.ok()) {
                throw new IllegalStateException("link " + name + " " + (up ? "up" : "down") + " failed: " + r.output());
            }
        }

        @Override
        public String toString() {
            return name + " (" + ip + ")";
        }
    }
}
