package dev.deploykit;

import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.transport.local.LocalTransport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Test fixture: an embedded DeployKit with the local transport and {@code n} simulated nodes
 * ({@code n01, n02, ...}) under one temp dir. The standard test bundle records each lifecycle
 * script run in {@code <root>/history} and fails its health check while {@code <root>/unhealthy}
 * exists. Close it to stop the engine.
 */
final class Cluster implements AutoCloseable {
    final Path dir;
    final DeployKit kit;
    final List<String> ids = new ArrayList<>();

    Cluster(Path dir, int nodes) {
        this(dir, nodes, b -> b);
    }

    /** With {@code options} applied to the kit's builder (a clock, a reconcile interval...). */
    Cluster(Path dir, int nodes, java.util.function.UnaryOperator<DeployKit.Builder> options) {
        this.dir = dir;
        this.kit = options.apply(DeployKit.builder().transport(LocalTransport.create()).artifactDir(dir.resolve("artifacts"))).build();
        for (int i = 1; i <= nodes; i++) {
            String id = String.format("n%02d", i);
            ids.add(id);
            kit.servers().register(Server.of(id, Binding.local(root(id)), Map.of("role", i % 2 == 0 ? "even" : "odd")));
        }
    }

    Path root(String id) {
        return dir.resolve("nodes").resolve(id);
    }

    /** Publishes the standard test bundle {@code app} at {@code version}. */
    Package publishApp(String version) {
        String record = "echo \"$DEPLOYKIT_PHASE $DEPLOYKIT_VERSION\" >> \"$DEPLOYKIT_ROOT/history\"; echo \"$DEPLOYKIT_PHASE app $DEPLOYKIT_VERSION\"";
        return publish(ScriptBundle.builder("app", version)
                .script("install", record)
                .script("upgrade", record)
                .script("downgrade", record)
                .script("remove", record)
                .script("health", "test ! -e \"$DEPLOYKIT_ROOT/unhealthy\""));
    }

    Package publish(ScriptBundle bundle) {
        try {
            Path file = Files.createTempFile(dir, "bundle-", ".tar.gz");
            return kit.packages().publish(bundle.writeTo(file));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The version the node's {@code current} symlink names, or null. */
    String installed(String id, String pkg) throws IOException {
        Path link = root(id).resolve("var/lib/deploykit/bundles/" + pkg + "/current");
        return Files.isSymbolicLink(link) ? Files.readSymbolicLink(link).toString() : null;
    }

    /** Lines the test bundle's scripts wrote on the node, oldest first. */
    List<String> history(String id) throws IOException {
        Path file = root(id).resolve("history");
        return Files.exists(file) ? Files.readAllLines(file) : List.of();
    }

    void markUnhealthy(String... nodes) throws IOException {
        for (String id : nodes) {
            Files.createDirectories(root(id));
            Files.writeString(root(id).resolve("unhealthy"), "");
        }
    }

    void markHealthy(String... nodes) throws IOException {
        for (String id : nodes) {
            Files.deleteIfExists(root(id).resolve("unhealthy"));
        }
    }

    /** Starts {@code plan} and waits for it to end; fails the test if it does not within a minute. */
    Deployment run(DeployPlan plan) throws InterruptedException {
        Deployment d = kit.start(plan);
        DeploymentStatus end = d.await(Duration.ofMinutes(1));
        if (!end.isTerminal()) {
            throw new AssertionError("deployment " + d.id() + " did not finish: " + end);
        }
        return d;
    }

    static DeployPlan.Builder install(String version) {
        return DeployPlan.builder().action(Action.install("app", version)).targetAll();
    }

    Map<String, NodeStatus> statuses(Deployment d) {
        Map<String, NodeStatus> result = new java.util.TreeMap<>();
        d.tasks().forEach(t -> result.put(t.serverId(), t.status()));
        return result;
    }

    @Override
    public void close() {
        kit.close();
    }
}
