package dev.deploykit.examples.desiredstate;

import dev.deploykit.BatchSize;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.LabelSelector;
import dev.deploykit.ReconcileDecision;
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
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * Desired state, end to end: an embedded controller and real agent processes labelled
 * {@code role=web}. The group {@code web} selects them by label and is pinned to {@code web-app}
 * 1.0.0: the reconciler converges all three with no plan. A fourth agent joins and converges too.
 * Someone deletes the application on web-2 by hand: its agent reports the change and the reconciler
 * repairs it. Then the pin moves to 2.0.0 with a canary of one and batches of two.
 *
 * <p>Run: {@code java -jar examples/desired-state/target/desired-state.jar [dir]}. No root, Docker or
 * database needed; plaintext gRPC on loopback, as only a demo should (docs/agent.md has mutual TLS).
 */
public final class DesiredStateExample {
    static final String PACKAGE = "web-app";
    static final String DRIFTER = "web-2";

    private final Path dir;
    private final PrintStream out;

    DesiredStateExample(Path dir, PrintStream out) {
        this.dir = dir;
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("deploykit-desired-state-");
        Map<String, String> installed = new DesiredStateExample(dir, System.out).run();
        System.exit(installed.values().stream().allMatch("2.0.0"::equals) && installed.size() == 4 ? 0 : 1);
    }

    /** Runs the story and returns what each server has installed at the end. */
    Map<String, String> run() throws Exception {
        String token = UUID.randomUUID().toString();
        Path tokenFile = Files.writeString(Files.createDirectories(dir.resolve("controller")).resolve("token"), token);
        AgentGateway gateway = AgentGateway.builder().host("127.0.0.1").port(0).token(token)
                .insecurePlaintext().trustSelfNamedAgents() // loopback demo only
                .build();
        List<Process> agents = new ArrayList<>();
        try (DeployKit kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("controller/artifacts"))
                .reconcileInterval(Duration.ofSeconds(1)) // the default is 30 s; a demo wants to see it at once
                .build().closeOnShutdown()) {
            gateway.start(kit.servers());
            kit.desired().onDecision(this::print);
            kit.packages().publish(bundle("1.0.0"));
            kit.packages().publish(bundle("2.0.0"));
            kit.groups().create(new ServerGroup("web", Set.of(), LabelSelector.parse("role=web")));

            step("Three agents labelled role=web; pin group web (selector role=web) to " + PACKAGE + " 1.0.0");
            for (String id : List.of("web-1", "web-3", DRIFTER)) {
                agents.add(startAgent(id, gateway.port(), tokenFile));
            }
            await(() -> gateway.connectedAgents().size() == 3, "three agents to connect");
            kit.desired().as("demo").pin("web", PACKAGE, "1.0.0");
            awaitAll(kit, "1.0.0", 3);

            step("A fourth agent joins with the same label: it converges with no plan");
            agents.add(startAgent("web-4", gateway.port(), tokenFile));
            awaitAll(kit, "1.0.0", 4);

            step("Someone deletes " + PACKAGE + " on " + DRIFTER + " by hand: its agent reports it, the reconciler repairs it");
            deleteTree(dir.resolve("nodes").resolve(DRIFTER).resolve("var/lib/deploykit/bundles").resolve(PACKAGE));
            await(() -> kit.servers().get(DRIFTER).orElseThrow().inventory().get(PACKAGE) == null, "the agent to report the removal");
            out.println("  " + DRIFTER + " inventory now: " + PACKAGE + " absent (reported by its agent, nobody refreshed)");
            awaitAll(kit, "1.0.0", 4);

            step("The pin moves to 2.0.0 with a canary of 1, then batches of 2, at most one failure");
            kit.desired().as("demo").pin("web", PACKAGE, "2.0.0", DeployPlan.strategy()
                    .canary(BatchSize.count(1)).batch(BatchSize.count(2)).maxFailed(BatchSize.count(1)).build());
            await(() -> !converging(kit, "2.0.0").isEmpty(), "the upgrade to start");
            Deployment upgrade = converging(kit, "2.0.0").get(0);
            upgrade.onEvent(this::print);
            upgrade.await(Duration.ofMinutes(2));
            out.println("  " + upgrade.plan().name() + " ended " + upgrade.status() + ", batches " + upgrade.batches());
            awaitAll(kit, "2.0.0", 4);

            Map<String, String> installed = installed(kit);
            out.println();
            out.println("Every server of group web, as the controller's live inventory has it:");
            installed.forEach((id, version) -> out.printf("  %-6s %s %s%n", id, PACKAGE, version));
            out.println("Pin history:");
            kit.desired().history().forEach(c -> out.println("  " + c.at() + " " + c.actor() + " " + c.kind() + " " + c.group() + "/"
                    + c.packageName() + " " + c.version()));
            return installed;
        } finally {
            agents.forEach(Process::destroy);
            gateway.close();
        }
    }

    private void step(String what) {
        out.println();
        out.println("=== " + what + " ===");
    }

    private void print(ReconcileDecision d) {
        out.println("  [reconcile] " + d.message());
    }

    private void print(DeployEvent event) {
        if (event instanceof DeployEvent.BatchStarted b) {
            out.println("  [batch " + b.batch() + (b.canary() ? " canary" : "") + "] starting " + b.servers());
        } else if (event instanceof DeployEvent.BatchFinished b) {
            out.println("  [batch " + b.batch() + "] done: " + b.succeeded() + " succeeded, " + b.failed() + " failed");
        }
    }

    private static List<Deployment> converging(DeployKit kit, String version) {
        return kit.deployments().stream().filter(d -> d.plan().name().equals("converge web/" + PACKAGE + " to " + version)).toList();
    }

    private static Map<String, String> installed(DeployKit kit) {
        Map<String, String> installed = new TreeMap<>();
        for (Server s : kit.servers().list()) {
            installed.put(s.id(), s.inventory().getOrDefault(PACKAGE, "absent"));
        }
        return installed;
    }

    private void awaitAll(DeployKit kit, String version, int servers) throws InterruptedException {
        await(() -> {
            Map<String, String> now = installed(kit);
            return now.size() == servers && now.values().stream().allMatch(version::equals);
        }, servers + " servers at " + version);
        out.println("  all " + servers + " servers run " + PACKAGE + " " + version);
    }

    private void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out waiting for " + what + "; agent logs are under " + dir.resolve("agents"));
            }
            Thread.sleep(100);
        }
    }

    /** Starts one agent JVM from this program's own classpath, as an operator would start the agent jar. */
    private Process startAgent(String id, int port, Path tokenFile) throws IOException {
        Path root = Files.createDirectories(dir.resolve("nodes").resolve(id));
        Path state = Files.createDirectories(dir.resolve("agents").resolve(id));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), "dev.deploykit.agent.AgentMain",
                "--controller", "127.0.0.1:" + port, "--token-file", tokenFile.toString(), "--insecure",
                "--id", id, "--state-dir", state.toString(), "--root", root.toString(), "--label", "role=web",
                "--inventory-check-millis", "500")
                .redirectErrorStream(true).redirectOutput(state.resolve("agent.log").toFile()).start();
    }

    private Path bundle(String version) throws IOException {
        return ScriptBundle.builder(PACKAGE, version)
                .file("app.conf", "version=" + version + "\n")
                .script("install", "mkdir -p \"$DEPLOYKIT_ROOT/opt/web-app\" && cp app.conf \"$DEPLOYKIT_ROOT/opt/web-app/\"")
                .writeTo(Files.createDirectories(dir.resolve("packages")).resolve(PACKAGE + "-" + version + ".tar.gz"));
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
