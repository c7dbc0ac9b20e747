package dev.deploykit.examples.quickstart;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.HealthCheck;
import dev.deploykit.ServerGroup;
import dev.deploykit.transport.grpc.AgentGateway;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The quickstart on real hosts ({@code quickstart.jar --hosts}): three hosts made on this machine by
 * the test bed's script (each with its own network namespace and IP on a bridge, and its own mount
 * namespace whose {@code /} is an overlay of this machine's root: docs/testing.md), each running the
 * agent from this jar with install root {@code /}. Real .deb packages of demo-app, built here with
 * {@code dpkg-deb}, are installed, upgraded and rolled back by {@code apt-get} on the hosts' {@code /};
 * this machine's own packages are not touched, and the hosts are removed at the end. Needs root,
 * {@code dpkg-deb}, {@code apt-get}, {@code ip}, {@code unshare} and {@code nsenter} (Debian, Ubuntu).
 */
final class QuickstartHosts {
    static final List<String> HOSTS = List.of("h1", "h2", "h3");
    /** The host that lacks the license file the 2.0.0 health check reads. */
    static final String BROKEN = "h2";
    private static final String BRIDGE = "10.78.0.1";

    private final Path dir;
    private final PrintStream out;
    private Path script;
    private String classpath;

    QuickstartHosts(Path dir, PrintStream out) {
        this.dir = dir;
        this.out = out;
    }

    static int main(PrintStream out) throws Exception {
        String missing = missing();
        if (missing != null) {
            out.println("quickstart --hosts needs " + missing + "; run the quickstart without --hosts for the version that needs none");
            return 2;
        }
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "deploykit-quickstart-hosts-");
        return new QuickstartHosts(dir, out).run().size() == 2 ? 0 : 1;
    }

    /** What this machine lacks for the hosts scenario, or null. */
    static String missing() {
        List<String> missing = new ArrayList<>();
        if (!"root".equals(System.getProperty("user.name"))) {
            missing.add("root (it makes network and mount namespaces)");
        }
        for (String tool : List.of("dpkg-deb", "apt-get", "ip", "unshare", "nsenter")) {
            if (Stream.of("/usr/sbin", "/usr/bin", "/sbin", "/bin").noneMatch(d -> Files.isExecutable(Path.of(d, tool)))) {
                missing.add("'" + tool + "'");
            }
        }
        return missing.isEmpty() ? null : String.join(", ", missing);
    }

    /** Runs both deployments on the hosts and returns them, finished; the hosts are gone afterwards. */
    List<Deployment> run() throws Exception {
        script = dir.resolve("testbed.sh");
        try (InputStream in = QuickstartHosts.class.getResourceAsStream("/dev/deploykit/testbed/testbed.sh")) {
            Files.write(script, in.readAllBytes());
        }
        testbed(null, "down");
        classpath = agentClasspath();
        out.println("making hosts " + HOSTS + " (network and mount namespaces, / an overlay of this machine's):");
        out.print(testbed(null, "up", Integer.toString(HOSTS.size())));
        List<Deployment> deployments = new ArrayList<>();
        String token = UUID.randomUUID().toString();
        AgentGateway gateway = AgentGateway.builder().host(BRIDGE).port(0).token(token)
                .insecurePlaintext().trustSelfNamedAgents() // a bridge on this machine, demo only; see docs/agent.md for mutual TLS
                .build();
        List<Process> agents = new ArrayList<>();
        try (DeployKit kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("controller/artifacts")).build()) {
            gateway.start(kit.servers());
            out.println("controller on " + BRIDGE + ":" + gateway.port() + "; agents run on the hosts with install root /");
            for (String host : HOSTS) {
                testbed(token.getBytes(StandardCharsets.UTF_8), "exec", host, "sh", "-c",
                        "mkdir -p /etc/deploykit && cat > /etc/deploykit/quickstart-token && chmod 0600 /etc/deploykit/quickstart-token");
                if (!host.equals(BROKEN)) {
                    testbed(null, "exec", host, "sh", "-c", "mkdir -p /etc/demo-app && echo licensed > /etc/demo-app/license");
                }
                agents.add(startAgent(host, gateway.port()));
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (gateway.connectedAgents().size() < HOSTS.size()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("agents did not connect: see " + dir.resolve("agents"));
                }
                Thread.sleep(100);
            }
            out.println("agents connected: " + gateway.connectedAgents());
            kit.groups().create(new ServerGroup("web", Set.copyOf(HOSTS), null));
            kit.packages().publish(deb("1.0.0"));
            kit.packages().publish(deb("2.0.0"));

            DeployPlan install = DeployPlan.builder().name("demo-app 1.0.0 (.deb)").action(Action.install("demo-app", "1.0.0"))
                    .targetGroups("web").canary(BatchSize.count(1)).batch(BatchSize.count(1)).build();
            deployments.add(Quickstart.deploy(kit, install, "apt-get on each host's /, canary of 1, then one host at a time", out));
            DeployPlan upgrade = DeployPlan.builder().name("demo-app 2.0.0 (.deb)").action(Action.install("demo-app", "2.0.0"))
                    .targetGroups("web").canary(BatchSize.count(1)).batch(BatchSize.count(1)).maxFailed(BatchSize.count(0))
                    .rollbackOnFailure(true)
                    .healthCheck(HealthCheck.of(Command.of("test", "-f", "/etc/demo-app/license"), 2, Duration.ofMillis(200))).build();
            deployments.add(Quickstart.deploy(kit, upgrade, "the health check needs /etc/demo-app/license, which " + BROKEN
                    + " lacks; no failure allowed, rollback on failure", out));

            out.println();
            out.println("What dpkg says on each host:");
            installed().forEach((host, version) -> out.printf("  %-4s demo-app %s%n", host, version));
        } finally {
            agents.forEach(Process::destroy);
            gateway.close();
            testbed(null, "down");
            out.println("hosts removed; agent logs under " + dir.resolve("agents"));
        }
        return deployments;
    }

    /** Host name to the demo-app version dpkg has installed there, "-" for none. */
    Map<String, String> installed() throws IOException, InterruptedException {
        Map<String, String> versions = new LinkedHashMap<>();
        for (String host : HOSTS) {
            String v = testbed(null, "exec", host, "dpkg-query", "-W", "-f", "${db:Status-Status} ${Version}", "demo-app").trim();
            versions.put(host, v.startsWith("installed ") ? v.substring("installed ".length()) : "-");
        }
        return versions;
    }

    /**
     * This program's classpath as the hosts see it: absolute, since they see this machine's files, except
     * {@code /tmp}, which is each host's own: entries there are copied into this run's directory first.
     */
    private String agentClasspath() throws IOException {
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Path.of(entry).toAbsolutePath().normalize();
            if (p.startsWith("/tmp")) {
                Path copy = dir.resolve("classpath").resolve(i++ + "-" + p.getFileName());
                copyTree(p, copy);
                p = copy;
            }
            entries.add(p.toString());
        }
        return String.join(java.io.File.pathSeparator, entries);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path f : all.toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(f, target);
                }
            }
        }
    }

    /** Starts the agent inside {@code host} from this program's classpath ({@link #agentClasspath}). */
    private Process startAgent(String host, int port) throws IOException {
        Path logs = Files.createDirectories(dir.resolve("agents"));
        List<String> argv = new ArrayList<>(List.of("bash", script.toString(), "exec", host,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", classpath, "dev.deploykit.agent.AgentMain", "--controller", BRIDGE + ":" + port,
                "--token-file", "/etc/deploykit/quickstart-token", "--insecure", "--id", host,
                "--state-dir", "/var/lib/deploykit-agent", "--root", "/", "--label", "role=web"));
        return new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(logs.resolve(host + ".log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    }

    /** A real .deb of demo-app, built with dpkg-deb: /opt/demo-app/app.conf says its version. */
    private Path deb(String version) throws IOException, InterruptedException {
        Path tree = Files.createDirectories(dir.resolve("deb-" + version));
        Files.createDirectories(tree.resolve("DEBIAN"));
        Files.writeString(tree.resolve("DEBIAN/control"), "Package: demo-app\nVersion: " + version + "\nArchitecture: all\n"
                + "Maintainer: DeployKit quickstart <quickstart@deploykit.dev>\nDescription: quickstart demo application\n");
        Files.writeString(Files.createDirectories(tree.resolve("opt/demo-app")).resolve("app.conf"), "version=" + version + "\n");
        Path deb = dir.resolve("demo-app_" + version + "_all.deb");
        Process p = new ProcessBuilder("dpkg-deb", "--root-owner-group", "--build", tree.toString(), deb.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("dpkg-deb failed: " + log);
        }
        return deb;
    }

    /** Runs testbed.sh with {@code args}; returns its output, or throws with it when it fails. */
    private String testbed(byte[] stdin, String... args) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of("bash", script.toString()));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin);
            }
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("testbed.sh " + String.join(" ", args) + " failed: " + output);
        }
        return output;
    }
}
