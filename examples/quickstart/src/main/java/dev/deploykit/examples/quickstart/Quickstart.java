package dev.deploykit.examples.quickstart;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.HealthCheck;
import dev.deploykit.NodeTask;
import dev.deploykit.Package;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.transport.grpc.AgentGateway;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The quickstart: an embedded controller with the in-memory store and an agent gateway on loopback,
 * six real agent processes (one per simulated node, each with its own install root directory) in two
 * groups, and two rolling deployments of a script bundle. The first (1.0.0) rolls out canary-first in batches. The second (2.0.0) needs
 * a license file that one node lacks: its health check fails after retries, the failure budget of 0
 * is exceeded, and every node that was changed is rolled back to 1.0.0 while the nodes of the last
 * batch are never touched.
 *
 * <p>Run: {@code java -jar examples/quickstart/target/quickstart.jar [nodes-dir]}. No root, Docker or
 * database needed. The agents talk plaintext gRPC to 127.0.0.1, which only a demo should do: in
 * production the gateway and agents use mutual TLS (docs/agent.md).
 *
 * <p>With {@code --hosts} (as root, on Debian or Ubuntu) the same rollout runs on real hosts instead:
 * {@link QuickstartHosts}.
 */
public final class Quickstart {
    private static final List<String> WEB = List.of("web-1", "web-2", "web-3", "web-4");
    private static final List<String> API = List.of("api-1", "api-2");
    /** The node that lacks the license file 2.0.0 checks for. */
    static final String BROKEN = "web-2";
    /** Steps too small to be worth a line of their own. */
    private static final Set<String> QUIET_STEPS = Set.of("", "connect", "query");

    private final PrintStream out;
    private final Path dir;

    Quickstart(Path dir, PrintStream out) {
        this.dir = dir;
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        if (List.of(args).contains("--hosts")) {
            System.exit(QuickstartHosts.main(System.out));
        }
        Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("deploykit-quickstart-");
        List<Deployment> done = new Quickstart(dir, System.out).run();
        System.exit(done.size() == 2 ? 0 : 1);
    }

    /** Runs both deployments and returns them, finished. */
    List<Deployment> run() throws Exception {
        List<Deployment> deployments = new ArrayList<>();
        String token = UUID.randomUUID().toString();
        AgentGateway gateway = AgentGateway.builder().host("127.0.0.1").port(0).token(token)
                .insecurePlaintext().trustSelfNamedAgents() // loopback demo only; see docs/agent.md for mutual TLS
                .build();
        List<Process> agents = new ArrayList<>();
        try (DeployKit kit = DeployKit.builder()
                .transport(gateway.transport())
                .artifactDir(dir.resolve("controller/artifacts"))
                .build()
                .closeOnShutdown()) {   // Ctrl-C releases what is running, for a controller sharing a store
            gateway.start(kit.servers());
            out.println("DeployKit quickstart: an embedded controller on 127.0.0.1:" + gateway.port() + " and "
                    + (WEB.size() + API.size()) + " agent processes (plaintext gRPC on loopback: demo only), node roots under "
                    + dir.resolve("nodes"));
            Path tokenFile = Files.writeString(Files.createDirectories(dir.resolve("controller")).resolve("token"), token);
            for (String id : concat(API, WEB)) {
                Path root = Files.createDirectories(dir.resolve("nodes").resolve(id));
                if (!id.equals(BROKEN)) {
                    Files.createDirectories(root.resolve("etc/demo-app"));
                    Files.writeString(root.resolve("etc/demo-app/license"), "licensed to " + id + "\n");
                }
                agents.add(startAgent(id, root, tokenFile, gateway.port()));
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (gateway.connectedAgents().size() < agents.size()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("agents did not connect: see " + dir.resolve("agents"));
                }
                Thread.sleep(100);
            }
            out.println("agents connected: " + gateway.connectedAgents());
            kit.groups().create(new ServerGroup("web", Set.copyOf(WEB), null));
            kit.groups().create(new ServerGroup("api", Set.copyOf(API), null));
            out.println("groups: web " + WEB + ", api " + API);

            Package v1 = kit.packages().publish(bundle("1.0.0", "true"));
            Package v2 = kit.packages().publish(bundle("2.0.0", "test -f \"$DEPLOYKIT_ROOT/etc/demo-app/license\""));
            out.println("published: " + v1 + ", " + v2);

            deployments.add(deploy(kit, v1));
            deployments.add(deploy(kit, v2));

            out.println();
            out.println("Final state of every node:");
            out.printf("  %-7s %-9s%n", "SERVER", "INSTALLED");
            for (Server s : kit.servers().list()) {
                out.printf("  %-7s %-9s%n", s.id(), s.inventory().getOrDefault("demo-app", "-"));
            }
            out.println("Node roots are kept under " + dir.resolve("nodes") + " for a look around.");
        } finally {
            agents.forEach(Process::destroy);
            gateway.close();
        }
        return deployments;
    }

    /** Starts one agent JVM from this program's own classpath, as an operator would start the agent jar. */
    private Process startAgent(String id, Path root, Path tokenFile, int port) throws IOException {
        Path state = Files.createDirectories(dir.resolve("agents").resolve(id));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), "dev.deploykit.agent.AgentMain",
                "--controller", "127.0.0.1:" + port, "--token-file", tokenFile.toString(), "--insecure",
                "--id", id, "--state-dir", state.toString(), "--root", root.toString(), "--label", "role=" + id.substring(0, 3))
                .redirectErrorStream(true).redirectOutput(state.resolve("agent.log").toFile()).start();
    }

    private Deployment deploy(DeployKit kit, Package pkg) throws Exception {
        DeployPlan plan = DeployPlan.builder()
                .name("demo-app " + pkg.version())
                .action(Action.install(pkg.name(), pkg.version()))
                .targetGroups("web", "api")
                .canary(BatchSize.count(1))
                .batch(BatchSize.percent(40))
                .maxFailed(BatchSize.count(0))
                .rollbackOnFailure(true)
                .healthCheck(HealthCheck.ofPackage(2, Duration.ofMillis(200)))
                .build();
        return deploy(kit, plan, "canary of 1, then batches of 40% (rounded up), no failure allowed, rollback on failure", out);
    }

    /** Previews {@code plan}, runs it printing its progress, and prints each node's outcome. */
    static Deployment deploy(DeployKit kit, DeployPlan plan, String explained, PrintStream out) throws Exception {
        out.println();
        out.println("=== " + plan.name() + ": " + explained + " ===");
        kit.preview(plan).forEach(p -> out.printf("  plan  %-6s batch %d%s  %s -> %s%n", p.serverId(), p.batch(),
                p.canary() ? " (canary)" : "", p.currentVersion() == null ? "none" : p.currentVersion(), p.targetVersion()));
        Deployment d = kit.start(plan);
        d.onEvent(e -> print(e, out));
        d.await(Duration.ofMinutes(3));
        table(d, out);
        return d;
    }

    private static void print(DeployEvent event, PrintStream out) {
        if (event instanceof DeployEvent.DeploymentStatusChanged s) {
            out.println("[deployment] " + s.status() + (s.reason().isEmpty() ? "" : ": " + s.reason()));
        } else if (event instanceof DeployEvent.BatchStarted b) {
            out.println("[batch " + b.batch() + (b.canary() ? " canary" : "") + "] starting " + b.servers());
        } else if (event instanceof DeployEvent.BatchFinished b) {
            out.println("[batch " + b.batch() + "] done: " + b.succeeded() + " succeeded, " + b.failed() + " failed, "
                    + b.skipped() + " skipped");
        } else if (event instanceof DeployEvent.NodeStatusChanged n && !QUIET_STEPS.contains(n.step().replace("rollback:", ""))) {
            out.printf("  %-6s %-10s %-18s %s%n", n.serverId(), n.status(), n.step(), n.message());
        } else if (event instanceof DeployEvent.NodeOutput o) {
            out.printf("  %-6s %-10s %-18s | %s%n", o.serverId(), "", o.step(), o.line());
        }
    }

    private static void table(Deployment d, PrintStream out) {
        out.println("Deployment " + d.id() + " ended " + d.status() + ". Per node:");
        out.printf("  %-6s %-5s %-12s %-8s %-8s %s%n", "SERVER", "BATCH", "STATUS", "BEFORE", "TARGET", "MESSAGE");
        for (NodeTask t : d.tasks()) {
            out.printf("  %-6s %-5d %-12s %-8s %-8s %s%n", t.serverId(), t.batch(), t.status(),
                    t.previousVersion() == null ? "-" : t.previousVersion(), t.targetVersion(), t.message());
        }
    }

    private Path bundle(String version, String health) throws IOException {
        Path file = dir.resolve("demo-app-" + version + ".tar.gz");
        Files.createDirectories(dir);
        String install = "mkdir -p \"$DEPLOYKIT_ROOT/opt/demo-app\"\n"
                + "cp app.conf \"$DEPLOYKIT_ROOT/opt/demo-app/app.conf\"\n"
                + "echo \"$DEPLOYKIT_PHASE demo-app $DEPLOYKIT_VERSION (was ${DEPLOYKIT_PREVIOUS_VERSION:-nothing})\"";
        return ScriptBundle.builder("demo-app", version)
                .description("quickstart demo application")
                .file("app.conf", "version=" + version + "\n")
                .script("install", install)
                .script("upgrade", install)
                .script("downgrade", install)
                .script("health", health)
                .writeTo(file);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
