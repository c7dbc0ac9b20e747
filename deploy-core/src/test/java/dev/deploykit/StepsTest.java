package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hooks, health checks, timeouts and argument handling of the per-node steps. */
class StepsTest {
    @TempDir
    Path tmp;
    Cluster cluster;

    @BeforeEach
    void setUp() {
        cluster = new Cluster(tmp, 1);
        cluster.publishApp("1.0");
    }

    @AfterEach
    void tearDown() {
        cluster.close();
    }

    private NodeTask only(Deployment d) {
        return d.tasks().get(0);
    }

    /** Fails until it has been run {@code n} times, counting runs in {@code <cwd>/count}. */
    private static Command passesOnAttempt(int n) {
        return Command.shell("c=$(cat count 2>/dev/null || echo 0); c=$((c+1)); echo $c > count; [ $c -ge " + n + " ]");
    }

    @Test
    void healthCheckIsRetriedUntilItPasses() throws Exception {
        Deployment d = cluster.run(Cluster.install("1.0")
                .healthCheck(HealthCheck.of(passesOnAttempt(3), 2, Duration.ofMillis(10))).build());
        assertEquals(DeploymentStatus.SUCCEEDED, d.status());
        assertEquals("3", Files.readString(cluster.root("n01").resolve("count")).trim());
    }

    @Test
    void healthCheckFailsWhenRetriesRunOut() throws Exception {
        Deployment d = cluster.run(Cluster.install("1.0")
                .healthCheck(HealthCheck.of(passesOnAttempt(3), 1, Duration.ofMillis(10))).build());
        assertEquals(DeploymentStatus.FAILED, d.status());
        assertEquals("2", Files.readString(cluster.root("n01").resolve("count")).trim());
        assertTrue(only(d).message().contains("health-check failed after 2 attempt(s)"), only(d).message());
    }

    @Test
    void aNodeWhoseWorkBreaksUnexpectedlyFailsAndIsNotLeftRunning() throws Exception {
        // a current version no version order reads (seen from a node that answered the query with other text):
        // the node was left RUNNING and the deployment SUCCEEDED
        Path home = Files.createDirectories(cluster.root("n01").resolve("var/lib/deploykit/bundles/app"));
        Files.createSymbolicLink(home.resolve("current"), Path.of("bad:1.0"));
        Deployment d = cluster.run(Cluster.install("1.0").build());
        assertEquals(DeploymentStatus.FAILED, d.status());
        assertEquals(NodeStatus.FAILED, only(d).status());
        assertTrue(only(d).message().contains("not a Debian version: 'bad:1.0'"), only(d).message());
    }

    @Test
    void stepTimeoutKillsTheProcessTree() throws Exception {
        Deployment d = cluster.run(DeployPlan.builder()
                .action(Action.runScripts(ScriptSet.of("hang", Script.of("spawn", Command.shell("sleep 300 & echo $! > pid; wait")))))
                .targetAll().stepTimeout(Duration.ofSeconds(1)).build());
        assertEquals(DeploymentStatus.FAILED, d.status());
        assertTrue(only(d).message().contains("timed out"), only(d).message());
        assertEquals("script:spawn", only(d).step());
        String pid = Files.readString(cluster.root("n01").resolve("pid")).trim();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertFalse(ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false), "sleep " + pid + " survived");
    }

    @Test
    void argumentsWithShellMetacharactersArriveLiterally() throws Exception {
        String nasty = "x; touch pwned && $(touch pwned2) `touch pwned3` | cat > pwned4 * ' \" \\";
        Deployment d = cluster.run(DeployPlan.builder()
                .action(Action.runScripts(ScriptSet.of("echo", Script.of("print", Command.of("printf", "%s\\n", nasty)))))
                .targetAll().build());
        assertEquals(DeploymentStatus.SUCCEEDED, d.status());
        List<String> lines = d.events().stream().filter(DeployEvent.NodeOutput.class::isInstance)
                .map(e -> ((DeployEvent.NodeOutput) e).line()).toList();
        assertEquals(List.of(nasty), lines);
        try (var files = Files.list(cluster.root("n01"))) {
            assertEquals(List.of(), files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("pwned")).toList());
        }
    }

    @Test
    void hooksRunAroundTheActionInOrderAndAFailingHookFailsTheNode() throws Exception {
        Deployment ok = cluster.run(Cluster.install("1.0")
                .beforeHook(Command.shell("echo before >> \"$1/history\"", cluster.root("n01").toString()))
                .afterHook(Command.shell("echo after >> \"$1/history\"", cluster.root("n01").toString())).build());
        assertEquals(DeploymentStatus.SUCCEEDED, ok.status());
        assertEquals(List.of("before", "install 1.0", "after"), cluster.history("n01"));

        cluster.publishApp("2.0");
        Deployment bad = cluster.run(Cluster.install("2.0").beforeHook(Command.shell("echo draining failed >&2; exit 3")).build());
        assertEquals(DeploymentStatus.FAILED, bad.status());
        assertEquals("before-hooks", only(bad).step());
        assertTrue(only(bad).message().contains("draining failed"), only(bad).message());
        assertEquals("1.0", cluster.installed("n01", "app"), "the action never ran");
    }

    @Test
    void scriptSetRunsInOrderAndStopsAtTheFirstFailure() throws Exception {
        ScriptSet set = ScriptSet.of("maintenance",
                Script.of("one", Command.shell("echo one >> order")),
                Script.of("two", Command.shell("echo two >> order; exit 1")),
                Script.of("three", Command.shell("echo three >> order")));
        Deployment d = cluster.run(DeployPlan.builder().action(Action.runScripts(set)).targetAll().build());
        assertEquals(DeploymentStatus.FAILED, d.status());
        assertEquals("script:two", only(d).step());
        assertEquals(List.of("one", "two"), Files.readAllLines(cluster.root("n01").resolve("order")));
    }

    @Test
    void nodeAlreadyAtTargetIsSkippedWithoutRunningAnything() throws Exception {
        cluster.run(Cluster.install("1.0").build());
        Deployment again = cluster.run(Cluster.install("1.0").build());
        assertEquals(NodeStatus.SKIPPED, only(again).status());
        assertEquals(List.of("install 1.0"), cluster.history("n01"));
    }
}
