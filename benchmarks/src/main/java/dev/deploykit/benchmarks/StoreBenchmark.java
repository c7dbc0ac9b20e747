package dev.deploykit.benchmarks;

import dev.deploykit.Action;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployPlan;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.spi.DeploymentRecord;
import dev.deploykit.store.postgres.PostgresStore;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The PostgreSQL store under load: node-task transitions per second, each with its event (what the
 * engine writes for every state change), from several deployments at once; and the latency of
 * status queries with a million events in the table.
 *
 * <p>Args: {@code --url jdbc:postgresql://127.0.0.1:5432/test --user postgres --transitions 40000
 * --deployments 8 --events 1000000 --report FILE}.
 */
public final class StoreBenchmark {
    /** Appends {@code each} task transitions with their events to every deployment at once; returns the wall time in ns. */
    private static long transitions(PostgresStore store, ExecutorService pool, List<String> ids, long[] seq, int each) throws Exception {
        List<Future<?>> all = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int d = 0; d < ids.size(); d++) {
            String id = ids.get(d);
            int index = d;
            all.add(pool.submit(() -> {
                for (int i = 0; i < each; i++) {
                    NodeTask t = new NodeTask(id, id + "-n" + (i % 100), "n" + (i % 100), 0, NodeStatus.RUNNING, "install", null,
                            "1.0", true, "", 1, Instant.now());
                    store.append(new DeployEvent.NodeStatusChanged(id, ++seq[index], t.updatedAt(), t.serverId(), t.taskId(),
                            t.status(), t.step(), ""), t, null);
                }
                return null;
            }));
        }
        for (Future<?> f : all) {
            f.get();
        }
        return System.nanoTime() - t0;
    }

    public static void main(String[] args) throws Exception {
        String url = SshBenchmark.stringArg(args, "--url", "jdbc:postgresql://127.0.0.1:5432/test");
        String user = SshBenchmark.stringArg(args, "--user", "postgres");
        int transitions = SshBenchmark.intArg(args, "--transitions", 40_000);
        int deployments = SshBenchmark.intArg(args, "--deployments", 8);
        int events = SshBenchmark.intArg(args, "--events", 1_000_000);
        java.nio.file.Path reportFile = java.nio.file.Path.of(SshBenchmark.stringArg(args, "--report", "benchmarks/reports/store.md"));
        String schema = "dk_bench_" + System.nanoTime() % 1_000_000;
        Report report = new Report("PostgreSQL store benchmark");
        try (PostgresStore store = PostgresStore.builder(url).user(user).schema(schema).poolSize(deployments + 2).build()) {
            DeployPlan plan = DeployPlan.builder().action(Action.install("app", "1.0")).targetAll().build();
            int perDeployment = transitions / deployments;
            List<String> ids = new ArrayList<>();
            for (int d = 0; d < deployments; d++) {
                String id = "bench-" + d;
                ids.add(id);
                List<NodeTask> tasks = new ArrayList<>();
                for (int n = 0; n < 100; n++) {
                    tasks.add(new NodeTask(id, id + "-n" + n, "n" + n, 0, NodeStatus.PENDING, "", null, "1.0", false, "", 1, Instant.now()));
                }
                store.createDeployment(new DeploymentRecord(id, plan, List.of(tasks.stream().map(NodeTask::serverId).toList()),
                        DeploymentStatus.RUNNING, Instant.now(), Instant.now()), tasks,
                        new DeployEvent.DeploymentStatusChanged(id, 1, Instant.now(), DeploymentStatus.RUNNING, ""));
            }
            ExecutorService pool = Executors.newFixedThreadPool(deployments);
            long[] seq = new long[deployments];
            java.util.Arrays.fill(seq, 1);
            // warm-up (JIT, connection pool, server-side prepared statements), not measured
            transitions(store, pool, ids, seq, Math.max(1, perDeployment / 4));
            long took = transitions(store, pool, ids, seq, perDeployment);
            double seconds = took / 1e9;
            pool.shutdown();
            report.add("## Node-task transitions, each with its event, " + deployments + " deployments at once");
            report.add("");
            report.add(String.format("- %d transitions in %.2f s: **%.0f per second** (target: at least 5,000)", perDeployment * deployments,
                    seconds, perDeployment * deployments / seconds));
            report.add("");

            // Bulk-load the event table to a million rows, spread over 100 more deployments.
            try (Connection c = store.dataSource().getConnection(); Statement s = c.createStatement()) {
                int per = events / 100;
                s.execute("insert into deployments (id, plan, batches, status, created_at, updated_at) "
                        + "select 'bulk-' || d, (select plan from deployments limit 1), '[]', 'SUCCEEDED', now(), now() from generate_series(1, 100) d");
                s.execute("insert into events (deployment_id, seq, time, kind, server_id, doc) "
                        + "select 'bulk-' || d, n, now(), 'NodeOutput', 'n' || (n % 100), "
                        + "jsonb_build_object('deploymentId', 'bulk-' || d, 'seq', n, 'time', now(), 'serverId', 'n' || (n % 100), "
                        + "'taskId', 't', 'step', 'install', 'stream', 'stdout', 'line', 'line ' || n) "
                        + "from generate_series(1, 100) d, generate_series(1, " + per + ") n");
                s.execute("analyze");
            }
            List<Long> status = new ArrayList<>();
            List<Long> tail = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                String id = i % 2 == 0 ? "bulk-" + (1 + i % 100) : ids.get(i % ids.size());
                long a = System.nanoTime();
                store.deployment(id).orElseThrow();
                store.tasks(id);
                status.add(System.nanoTime() - a);
                long b = System.nanoTime();
                store.events(id, Math.max(0, (events / 100) - 50));
                tail.add(System.nanoTime() - b);
            }
            Collections.sort(status);
            Collections.sort(tail);
            long rows;
            try (Connection c = store.dataSource().getConnection(); Statement s = c.createStatement();
                    var rs = s.executeQuery("select count(*) from events")) {
                rs.next();
                rows = rs.getLong(1);
            }
            report.add("## Status queries with " + rows + " events in the table");
            report.add("");
            report.add(String.format("- deployment status (deployment row + its node tasks): median **%.2f ms**, p99 %.2f ms (target: median under 10 ms)",
                    status.get(status.size() / 2) / 1e6, status.get((int) (status.size() * 0.99)) / 1e6));
            report.add(String.format("- last 50 events of a deployment: median %.2f ms, p99 %.2f ms", tail.get(tail.size() / 2) / 1e6,
                    tail.get((int) (tail.size() * 0.99)) / 1e6));
            try (Connection c = store.dataSource().getConnection(); Statement s = c.createStatement()) {
                s.execute("drop schema " + schema + " cascade");
            }
        }
        report.write(reportFile);
    }
}
