package dev.deploykit.examples.postgresha;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.Package;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.store.postgres.PostgresStore;
import dev.deploykit.transport.grpc.AgentGateway;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Two controllers on one PostgreSQL database, three agents split between them, and a controller
 * crash in the middle of a rolling deployment.
 *
 * <p>Controller A runs as a child process and starts the rollout; controller B runs in this process.
 * web-1's agent is connected to B, so A hands web-1's steps to B through the database. While web-2
 * installs, A is killed with SIGKILL: B takes the deployment over when A's lease runs out, web-2's
 * and web-3's agents move to B, and B finishes. Every node's install script counts its runs, and
 * each ran once.
 *
 * <p>Run: {@code java -jar examples/postgres-ha/target/postgres-ha.jar}. Needs PostgreSQL:
 * {@code DEPLOYKIT_PG_URL} (default {@code jdbc:postgresql://127.0.0.1:5432/postgres}),
 * {@code DEPLOYKIT_PG_USER} (default {@code postgres}), {@code DEPLOYKIT_PG_PASSWORD}. It works in a
 * schema of its own and drops it at the end. Agents use plaintext gRPC on loopback: demo only.
 */
public final class PostgresHa {
    private static final Duration LEASE = Duration.ofSeconds(5);
    private static final List<String> NODES = List.of("web-1", "web-2", "web-3");

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("controller-a")) {
            controllerA(args);
            return;
        }
        System.exit(new PostgresHa().run() == DeploymentStatus.SUCCEEDED ? 0 : 1);
    }

    private static String env(String name, String otherwise) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? otherwise : v;
    }

    private final String url = env("DEPLOYKIT_PG_URL", "jdbc:postgresql://127.0.0.1:5432/postgres");
    private final String user = env("DEPLOYKIT_PG_USER", "postgres");
    private final String password = env("DEPLOYKIT_PG_PASSWORD", null);
    private final String schema = "deploykit_ha_demo_" + UUID.randomUUID().toString().substring(0, 8);
    private final String token = UUID.randomUUID().toString();

    private static PostgresStore store(String url, String user, String password, String schema, String id) {
        return PostgresStore.builder(url).user(user).password(password).schema(schema).controllerId(id).lease(LEASE).build();
    }

    private static AgentGateway gateway(String token) {
        return AgentGateway.builder().host("127.0.0.1").port(0).token(token)
                .insecurePlaintext().trustSelfNamedAgents() // loopback demo only; see docs/agent.md for mutual TLS
                .reconnectGrace(Duration.ofSeconds(30)).build();
    }

    DeploymentStatus run() throws Exception {
        Path dir = Files.createTempDirectory("deploykit-ha-");
        Path tokenFile = Files.writeString(dir.resolve("token"), token);
        List<Process> processes = new ArrayList<>();
        AgentGateway gatewayB = gateway(token);
        // both controllers use one artifact directory: the database holds metadata, not the blobs
        try (DeployKit b = DeployKit.builder().store(store(url, user, password, schema, "controller-b"))
                .transport(gatewayB.transport()).artifactDir(dir.resolve("artifacts")).build().closeOnShutdown()) {
            gatewayB.start(b.servers());
            int portA = freePort();
            System.out.println("PostgreSQL " + url + ", schema " + schema + "; lease " + LEASE.toSeconds() + " s");
            System.out.println("controller-b: in this process, agent gateway on 127.0.0.1:" + gatewayB.port());
            Process a = javaProcess(dir.resolve("controller-a.log"), PostgresHa.class.getName(), "controller-a", url, user,
                    password == null ? "" : password, schema, Integer.toString(portA), token, dir.toString());
            processes.add(a);
            System.out.println("controller-a: process " + a.pid() + ", agent gateway on 127.0.0.1:" + portA);
            waitFor(Duration.ofSeconds(60), () -> Files.readString(dir.resolve("controller-a.log")).contains("controller-a up"),
                    "controller-a to start (see " + dir.resolve("controller-a.log") + ")");
            String a1 = "127.0.0.1:" + portA;
            String b1 = "127.0.0.1:" + gatewayB.port();
            for (String node : NODES) {
                // web-1 starts with controller-b, the others with controller-a; each falls over to the other
                String controllers = node.equals("web-1") ? b1 + "," + a1 : a1 + "," + b1;
                Path root = Files.createDirectories(dir.resolve("nodes").resolve(node));
                processes.add(javaProcess(Files.createDirectories(dir.resolve("agents").resolve(node)).resolve("agent.log"),
                        "dev.deploykit.agent.AgentMain", "--controller", controllers, "--token-file", tokenFile.toString(),
                        "--insecure", "--id", node, "--state-dir", dir.resolve("agents").resolve(node).toString(),
                        "--root", root.toString(), "--label", "role=web"));
                System.out.println("agent " + node + ": dials " + controllers);
            }
            Deployment d = waitFor(Duration.ofSeconds(90), () -> b.deployments().stream().findFirst(), "controller-a to start the rollout");
            System.out.println("controller-a started deployment " + d.id() + "; its events, as stored:");
            long seen = 0;
            Instant killed = null;
            boolean takenOver = false;
            Instant deadline = Instant.now().plus(Duration.ofMinutes(3));
            DeploymentStatus status = d.status();
            while (Instant.now().isBefore(deadline)) {
                Deployment current = b.deployment(d.id()).orElseThrow();
                for (DeployEvent e : current.events()) {
                    if (e.seq() <= seen) {
                        continue;
                    }
                    seen = e.seq();
                    print(e);
                    if (killed == null && e instanceof DeployEvent.NodeStatusChanged n && n.serverId().equals("web-2")
                            && n.step().equals("install")) {
                        a.destroyForcibly().waitFor();
                        killed = Instant.now();
                        System.out.println("*** controller-a killed (SIGKILL) while web-2 installs; controller-b takes over once "
                                + "the " + LEASE.toSeconds() + " s lease has run out ***");
                    }
                    if (killed != null && !takenOver && e instanceof DeployEvent.NodeStatusChanged n && n.message().startsWith("re-sent")) {
                        takenOver = true;
                        System.out.printf("*** controller-b took the deployment over %.1f s after the kill ***%n",
                                Duration.between(killed, e.time()).toMillis() / 1000.0);
                    }
                    if (e instanceof DeployEvent.DeploymentStatusChanged s) {
                        status = s.status();
                    }
                }
                if (status.isTerminal()) {
                    break;
                }
                Thread.sleep(200);
            }
            System.out.println();
            System.out.println("Deployment " + d.id() + " ended " + status + ". Per node:");
            for (NodeTask t : b.deployment(d.id()).orElseThrow().tasks()) {
                Path log = dir.resolve("nodes").resolve(t.serverId()).resolve("var/log/demo-installs");
                long runs = Files.exists(log) ? Files.readAllLines(log).size() : 0;
                System.out.printf("  %-6s %-10s install script ran %d time(s)%n", t.serverId(), t.status(), runs);
            }
            return status;
        } finally {
            processes.forEach(Process::destroyForcibly);
            gatewayB.close();
            try (Connection c = DriverManager.getConnection(url, user, password)) {
                c.createStatement().execute("drop schema if exists " + schema + " cascade");
            } catch (Exception e) {
                System.err.println("could not drop schema " + schema + ": " + e.getMessage());
            }
        }
    }

    /** Controller A, in its own process: waits for the three agents and starts the rollout. */
    private static void controllerA(String[] args) throws Exception {
        String url = args[1];
        String user = args[2];
        String password = args[3].isEmpty() ? null : args[3];
        String schema = args[4];
        int port = Integer.parseInt(args[5]);
        String token = args[6];
        Path dir = Path.of(args[7]);
        AgentGateway gateway = AgentGateway.builder().host("127.0.0.1").port(port).token(token).insecurePlaintext().trustSelfNamedAgents()
                .reconnectGrace(Duration.ofSeconds(30)).build();
        // SIGTERM would release its deployment at once; the example kills it with SIGKILL, as a crash does
        DeployKit kit = DeployKit.builder().store(store(url, user, password, schema, "controller-a"))
                .transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build().closeOnShutdown();
        gateway.start(kit.servers());
        System.out.println("controller-a up");
        waitFor(Duration.ofSeconds(60), () -> kit.servers().list().size() == NODES.size(), "three agents");
        Package pkg = kit.packages().publish(bundle(dir));
        Deployment d = kit.start(DeployPlan.builder().name("demo-app 1.0.0").action(Action.install(pkg.name(), pkg.version()))
                .targetSelector("role=web").batch(BatchSize.count(1)).maxFailed(BatchSize.count(0)).build());
        System.out.println("started " + d.id());
        Thread.currentThread().join();
    }

    private static Path bundle(Path dir) throws IOException {
        String install = "mkdir -p \"$DEPLOYKIT_ROOT/var/log\" \"$DEPLOYKIT_ROOT/opt/demo-app\"\n"
                + "echo run >> \"$DEPLOYKIT_ROOT/var/log/demo-installs\"\n"
                + "echo \"installing demo-app $DEPLOYKIT_VERSION\"\n"
                + "sleep 3\n"
                + "cp app.conf \"$DEPLOYKIT_ROOT/opt/demo-app/app.conf\"\n"
                + "echo done";
        return ScriptBundle.builder("demo-app", "1.0.0").description("HA demo application")
                .file("app.conf", "version=1.0.0\n").script("install", install).script("upgrade", install)
                .writeTo(dir.resolve("demo-app-1.0.0.tar.gz"));
    }

    private static void print(DeployEvent event) {
        if (event instanceof DeployEvent.DeploymentStatusChanged s) {
            System.out.println("[deployment] " + s.status() + (s.reason().isEmpty() ? "" : ": " + s.reason()));
        } else if (event instanceof DeployEvent.BatchStarted b) {
            System.out.println("[batch " + b.batch() + "] starting " + b.servers());
        } else if (event instanceof DeployEvent.NodeStatusChanged n) {
            System.out.printf("  %-6s %-10s %-10s %s%n", n.serverId(), n.status(), n.step(), n.message());
        } else if (event instanceof DeployEvent.NodeOutput o) {
            System.out.printf("  %-6s %-10s %-10s | %s%n", o.serverId(), "", o.step(), o.line());
        }
    }

    private static Process javaProcess(Path log, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static int freePort() throws IOException {
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @FunctionalInterface
    private interface Check<T> {
        T get() throws Exception;
    }

    /** Waits for a true or present result of {@code check}; returns it. */
    @SuppressWarnings("unchecked")
    private static <T> T waitFor(Duration limit, Check<?> check, String what) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            Object v = check.get();
            if (v instanceof Boolean ok && ok) {
                return (T) v;
            }
            if (v instanceof Optional<?> o && o.isPresent()) {
                return (T) o.get();
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("timed out waiting for " + what);
    }
}
