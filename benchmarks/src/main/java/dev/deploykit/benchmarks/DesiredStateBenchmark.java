package dev.deploykit.benchmarks;

import dev.deploykit.BatchSize;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.LabelSelector;
import dev.deploykit.ServerGroup;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.store.postgres.PostgresStore;
import dev.deploykit.transport.grpc.AgentGateway;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * Desired state at fleet scale (issue 13), on the PostgreSQL store, with simulated agents over mutual
 * TLS on loopback: this JVM is the controller (DeployKit, {@link PostgresStore}, {@link AgentGateway});
 * one more JVM runs all the simulated agents ({@link SimAgents}), which emulate the script-bundle
 * commands so that queries read back what was installed. Three scenarios:
 *
 * <ol>
 *   <li>a group of N agents (selector {@code role=web}) pinned to app 1.0 (the warm-up: first install),
 *       then to 2.0 with a canary and batches: time until every server's stored inventory says 2.0,
 *       controller CPU, PostgreSQL CPU and writes;
 *   <li>drift: D agents lose the package "by hand" and report it; per node, the time until the store
 *       shows it absent (detection) and 2.0 again (repair by the reconciler);
 *   <li>idle fleets of growing size (heartbeats only) on a fresh controller: store writes per second
 *       and CPU over a fixed window, to show that writes follow the last-seen flush interval, not the
 *       number of agents.
 * </ol>
 *
 * <p>The benchmark creates its database when missing (and drops it again at the end), and a schema
 * per scenario. PostgreSQL counters come from {@code pg_stat_database} and {@code pg_stat_user_tables};
 * a backend publishes its counters at most once a second and, once idle, only after up to 10 s, so
 * every reading that ends a burst is taken 11 s after it.
 *
 * <p>Args: {@code --pg 127.0.0.1:5432 --user postgres --database dk_bench_desired --agents 1000
 * --drifts 20 --idle 1000,10000 --idle-seconds 60 --settle-seconds 15 --report FILE [--scenarios rollout,idle]}; {@code rollout} includes
 * the drift scenario.
 */
public final class DesiredStateBenchmark {
    private static final String SIMULATED = "simulated agents, one JVM for all nodes";
    private static final Duration HEARTBEAT = Duration.ofSeconds(5);
    private static final Duration LAST_SEEN_FLUSH = Duration.ofSeconds(1);
    private static final Duration RECONCILE = Duration.ofSeconds(1);
    /** A backend publishes its statistics at most every second, and an idle one after 10 s (PGSTAT_IDLE_INTERVAL). */
    private static final Duration STATS_LAG = Duration.ofSeconds(11);

    public static void main(String[] args) throws Exception {
        String pg = SshBenchmark.stringArg(args, "--pg", "127.0.0.1:5432");
        String user = SshBenchmark.stringArg(args, "--user", "postgres");
        String database = SshBenchmark.stringArg(args, "--database", "dk_bench_desired");
        int agents = SshBenchmark.intArg(args, "--agents", 1000);
        int drifts = SshBenchmark.intArg(args, "--drifts", 20);
        int[] idle = Arrays.stream(SshBenchmark.stringArg(args, "--idle", "1000,10000").split(",")).mapToInt(Integer::parseInt).toArray();
        int idleSeconds = SshBenchmark.intArg(args, "--idle-seconds", 60);
        int settleSeconds = SshBenchmark.intArg(args, "--settle-seconds", 15);
        Path reportFile = Path.of(SshBenchmark.stringArg(args, "--report", "benchmarks/reports/desired-state.md"));
        Set<String> scenarios = Set.of(SshBenchmark.stringArg(args, "--scenarios", "rollout,idle").split(","));
        if (!database.matches("[a-z_][a-z0-9_]{0,62}")) {
            throw new IllegalArgumentException("--database must match [a-z_][a-z0-9_]{0,62}, but was '" + database + "'");
        }
        String url = "jdbc:postgresql://" + pg + "/" + database;
        boolean created = createDatabase("jdbc:postgresql://" + pg + "/postgres", user, database);
        Path dir = Report.scratchDir("dk-bench-desired-");
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Report report = new Report("Desired state benchmark (issue 13)");
        long started = System.nanoTime();
        report.add("- load average at start (1, 5, 15 min): " + loadAverage() + "; the 2 cores are shared with other builds, "
                + "so CPU-bound timings may be inflated");
        report.add("- everything on one host: controller JVM, one JVM of " + SIMULATED + ", PostgreSQL "
                + serverVersion(url, user) + " (database `" + database + "`, store pool of 10 connections)");
        report.add("- gateway: mutual TLS, heartbeat every " + HEARTBEAT.toSeconds() + " s (default 10 s), last-seen flush every "
                + LAST_SEEN_FLUSH.toSeconds() + " s (default 10 s)");
        report.add("");
        try {
            if (scenarios.contains("rollout")) {
                rolloutAndDrift(report, dir, pki, url, user, agents, drifts);
            }
            if (scenarios.contains("idle")) {
                idle(report, dir, pki, url, user, idle, idleSeconds, settleSeconds);
            }
        } finally {
            if (created) {
                dropDatabase("jdbc:postgresql://" + pg + "/postgres", user, database);
            }
        }
        report.add("");
        report.add(String.format("Whole run: %.0f s; load average at the end: %s.", (System.nanoTime() - started) / 1e9, loadAverage()));
        report.write(reportFile);
    }

    // ---- scenarios 1 and 2 ----

    private static void rolloutAndDrift(Report report, Path dir, AgentFixtures.Pki pki, String url, String user, int agents, int drifts)
            throws Exception {
        String schema = "dk_bench_desired_" + System.nanoTime() % 1_000_000;
        DeployPlan strategy = DeployPlan.strategy().canary(BatchSize.count(10)).batch(BatchSize.percent(25))
                .maxFailed(BatchSize.count(10)).build();
        try (Controller c = new Controller(dir, pki, url, user, schema, RECONCILE); Pg pg = new Pg(url, user, schema)) {
            Sims sims = c.spawn(dir, agents, "web", "role=web");
            try {
                long prepared = sims.awaitPrepared(0, Duration.ofMinutes(10));
                long t = System.nanoTime();
                awaitConnected(c, agents, Duration.ofMinutes(10));
                report.add("## A group of " + agents + " agents pinned to a new version (" + SIMULATED + ")");
                report.add("");
                report.add(String.format("- %d agents connected (TLS handshake, Hello, registration) in %s, after %.1f s of the "
                        + "simulation's own set-up (keys, certificates, TLS contexts) (%s)", agents,
                        Report.seconds(System.nanoTime() - t), prepared / 1e3, SIMULATED));
                c.kit.groups().create(new ServerGroup("web", Set.of(), LabelSelector.parse("role=web")));
                for (String version : List.of("1.0", "2.0")) {
                    c.kit.packages().publish(ScriptBundle.builder("app", version).script("install", "true")
                            .writeTo(dir.resolve("app-" + version + ".tar.gz")));
                }
                report.add("- group `web`: label selector `role=web`; package `app` (a script bundle); reconcile interval "
                        + RECONCILE.toSeconds() + " s; strategy: canary 10, then batches of 25%, at most 10 failures, "
                        + "concurrency the whole batch");
                report.add("");

                // warm-up: the first install everywhere (JIT, connection pool, the agents' first artifact fetch)
                long w0 = System.nanoTime();
                c.kit.desired().pin("web", "app", "1.0", strategy);
                awaitVersion(pg, "1.0", agents, Duration.ofMinutes(15));
                long warm = System.nanoTime() - w0;
                awaitDeploymentsEnded(c.kit, Duration.ofMinutes(2));
                report.add(String.format("- warm-up, pin 1.0 on a group with nothing installed: all %d converged in %s (%s)", agents,
                        Report.seconds(warm), SIMULATED));

                // what the converged group costs while nothing changes: heartbeats, reconcile passes, pin lease
                Thread.sleep(STATS_LAG.toMillis());
                Snapshot b0 = Snapshot.take(c, sims, pg);
                Thread.sleep(Math.max(5_000, Math.min(20_000, agents * 20L)));
                Snapshot b1 = Snapshot.take(c, sims, pg);
                double bSeconds = (b1.nanos - b0.nanos) / 1e9;
                addIfAny(report, b1.restartWarning(b0));
                report.add(String.format("- background, group converged and nothing changing, over %.0f s: %.1f commits/s, "
                        + "%.0f rows written/s, controller CPU %.1f%% of one core (%s)", bSeconds,
                        b1.commitsSince(b0) / bSeconds, (b1.rows() - b0.rows()) / bSeconds,
                        100.0 * (b1.controllerCpu - b0.controllerCpu) / (b1.nanos - b0.nanos), SIMULATED));
                report.add("");

                // the measured rollout
                Snapshot s0 = Snapshot.take(c, sims, pg);
                Instant pinned = Instant.now();
                long r0 = System.nanoTime();
                c.kit.desired().pin("web", "app", "2.0", strategy);
                awaitVersion(pg, "2.0", agents, Duration.ofMinutes(15));
                long converged = System.nanoTime() - r0;
                Snapshot s1 = Snapshot.take(c, sims, pg);
                pg.closePolling(); // its own statistics are published when its backend exits
                Thread.sleep(STATS_LAG.toMillis());
                Snapshot s1Stats = Snapshot.take(c, sims, pg);
                awaitDeploymentsEnded(c.kit, Duration.ofMinutes(2));
                long confirmed = c.kit.servers().list().stream().filter(s -> "2.0".equals(s.inventory().get("app"))).count();
                List<Deployment> rollout = converging(c.kit, "2.0", pinned);

                double seconds = converged / 1e9;
                double cpu = (s1.controllerCpu - s0.controllerCpu) / 1e9;
                long commits = s1Stats.commitsSince(s0);
                long polls = s1Stats.own - s0.own;
                long rows = s1Stats.rows() - s0.rows();
                report.add("### Pin 2.0 on the converged group (" + SIMULATED + ")");
                report.add("");
                report.add("| figure | value |");
                report.add("|---|---|");
                report.add(String.format("| time from `pin` until every server's stored inventory says 2.0 | **%s** |", Report.seconds(converged)));
                for (Deployment d : rollout) {
                    report.add(String.format("| converging deployment `%s` | %s, batches %s, started %.2f s after the pin, ran %.2f s |",
                            d.plan().name(), d.status(), batchSizes(d), secondsBetween(pinned, firstEvent(d)),
                            secondsBetween(firstEvent(d), lastEvent(d))));
                }
                report.add(String.format("| servers at 2.0 read back through `kit.servers().list()` | %d of %d |", confirmed, agents));
                report.add(String.format("| controller CPU (this JVM, `getProcessCpuTime`) | **%.1f s** (%.0f%% of one core), **%.1f ms per node** |",
                        cpu, 100 * cpu / seconds, 1000 * cpu / agents));
                report.add(String.format("| PostgreSQL backends of the store (`/proc`, this database's) | %.1f s CPU (%.0f%% of one core) |",
                        (s1.pgCpu - s0.pgCpu) / 1e9, 100.0 * (s1.pgCpu - s0.pgCpu) / converged));
                report.add(String.format("| the JVM of %s (not the controller's) | %.1f s CPU |", SIMULATED, (s1.simCpu - s0.simCpu) / 1e9));
                report.add(String.format("| PostgreSQL commits (`xact_commit`; reads included, the benchmark's own %d polls and readings not) | %d, **%.0f per second** |",
                        polls, commits, commits / seconds));
                report.add(String.format("| rows written (inserted + updated + deleted) | %d, **%.0f per second** |", rows, rows / seconds));
                report.add(String.format("| store write calls (one transaction each) | %d, %.0f per second |",
                        writes(s1.calls) - writes(s0.calls), (writes(s1.calls) - writes(s0.calls)) / seconds));
                report.add("");
                addIfAny(report, s1Stats.restartWarning(s0));
                report.add("Rows written per table, and store calls by method, over the rollout:");
                report.add("");
                report.add(tableRows(s0, s1Stats));
                report.add("");
                report.add(calls(s0, s1, seconds));
                report.add("");
                report.add(String.format("Per second figures divide by the convergence time (%.1f s). The PostgreSQL counters were read %d s "
                        + "after convergence (a backend publishes its counters with up to 10 s delay once idle), so they also hold up to "
                        + "that long of background (%.1f commits/s, %.0f rows/s, measured above) before and after the rollout. The "
                        + "convergence time is polled every 200 ms with one SQL count on the store's `servers` table, from this JVM.",
                        seconds, STATS_LAG.toSeconds(), b1.commitsSince(b0) / bSeconds, (b1.rows() - b0.rows()) / bSeconds));
                report.add("");

                drift(report, c, sims, url, user, schema, Math.min(drifts, agents));
            } finally {
                sims.close();
            }
        }
    }

    private static void drift(Report report, Controller c, Sims sims, String url, String user, String schema, int drifts) throws Exception {
        report.add("## Drift: " + drifts + " agents lose the package (" + SIMULATED + ")");
        report.add("");
        report.add("Each simulated agent removes `app` from its emulated bundle links and sends an InventoryReport delta "
                + "(`removed: app`, formats `script`) at once, as the agent's InventoryReporter does when its check sees the "
                + "change (a real agent checks every `--inventory-check-millis`, default 3 s, which comes on top). Times are from "
                + "that send (the simulated agent's clock, the same host's) until this JVM's poll of the store (every 25 ms, one SQL "
                + "query; resolution one poll plus the query's time) shows it, and until the time the controller recorded the change in "
                + "the store's inventory history (`inventory_history.at`: taken as it writes the change, so a few ms before a reader "
                + "can see it; no polling in it). Detection: `app` absent; repair: 2.0 again. Reconcile interval "
                + RECONCILE.toSeconds() + " s. Two rounds on the same agents: the first "
                + "is the first time this controller JVM runs the code of a removal report.");
        report.add("");
        report.add("| round | detection, recorded: p50 / max | detection, seen by the poll | repair, recorded: p50 / max | "
                + "repair, seen by the poll | converging deployments that repaired them |");
        report.add("|---|---|---|---|---|---|");
        for (int round = 1; round <= 2; round++) {
            Thread.sleep(2000);
            Map<String, Long> detected = new HashMap<>();
            Map<String, Long> repaired = new HashMap<>();
            Map<String, Long> dropped = new HashMap<>();
            Instant before = Instant.now();
            try (Pg pg = new Pg(url, user, schema)) {
                pg.notAt("app", "2.0"); // connected before the clock starts
                int offset = sims.lines().size();
                sims.command("drop " + drifts + " app");
                long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
                while (true) {
                    long now = System.currentTimeMillis(); // the query's snapshot is taken after this
                    Set<String> off = pg.notAt("app", "2.0");
                    for (String id : off) {
                        detected.putIfAbsent(id, now);
                    }
                    for (String id : detected.keySet()) {
                        if (!off.contains(id)) {
                            repaired.putIfAbsent(id, now);
                        }
                    }
                    if (dropped.size() < drifts) {
                        List<String> lines = sims.lines();
                        for (String line : lines.subList(Math.min(offset, lines.size()), lines.size())) {
                            String[] w = line.split(" ");
                            if (w.length == 3 && w[0].equals("dropped")) {
                                dropped.put(w[1], Long.parseLong(w[2]));
                            }
                        }
                    }
                    if (dropped.size() == drifts && repaired.keySet().containsAll(dropped.keySet())) {
                        break;
                    }
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("drift not repaired in 3 minutes: dropped " + dropped.size() + ", detected "
                                + detected.size() + ", repaired " + repaired.size());
                    }
                    Thread.sleep(25);
                }
            }
            awaitDeploymentsEnded(c.kit, Duration.ofMinutes(2));
            List<Long> detect = new ArrayList<>();
            List<Long> repair = new ArrayList<>();
            List<Long> detectSeen = new ArrayList<>();
            List<Long> repairSeen = new ArrayList<>();
            try (Pg pg = new Pg(url, user, schema)) {
                for (Map.Entry<String, Long> e : dropped.entrySet()) {
                    long[] recorded = pg.removedAndRestored(e.getKey(), "app", "2.0", e.getValue() - 1000);
                    detect.add(recorded[0] - e.getValue());
                    repair.add(recorded[1] - e.getValue());
                    // a poll that ran as the report arrived can see it before the agent printed its time
                    detectSeen.add(Math.max(0, detected.get(e.getKey()) - e.getValue()));
                    repairSeen.add(repaired.get(e.getKey()) - e.getValue());
                }
            }
            Collections.sort(detect);
            Collections.sort(repair);
            Collections.sort(detectSeen);
            Collections.sort(repairSeen);
            List<String> described = new ArrayList<>();
            for (Deployment d : converging(c.kit, "2.0", before)) {
                described.add(String.format("batches %s, %s", batchSizes(d), d.status()));
            }
            report.add(String.format("| %d | %d ms / %d ms | %d ms / %d ms | **%.2f s / %.2f s** | %.2f s / %.2f s | %d: %s |", round,
                    percentile(detect, 50), last(detect), percentile(detectSeen, 50), last(detectSeen),
                    percentile(repair, 50) / 1e3, last(repair) / 1e3, percentile(repairSeen, 50) / 1e3, last(repairSeen) / 1e3,
                    described.size(), String.join("; ", described)));
        }
        report.add("");
        report.add("Repair is detection, then the wait for the next reconcile pass (up to one interval), then one converging "
                + "deployment over the drifted servers with the pin's strategy (its canary of 10 first). One converging deployment "
                + "per group and package runs at a time, so a node whose report arrived after a pass had started one waits for it.");
        report.add("");
    }

    // ---- scenario 3 ----

    private static void idle(Report report, Path dir, AgentFixtures.Pki pki, String url, String user, int[] steps, int windowSeconds,
            int settleSeconds) throws Exception {
        String schema = "dk_bench_idle_" + System.nanoTime() % 1_000_000;
        report.add("## Idle agents: the cost of heartbeats (" + SIMULATED + ")");
        report.add("");
        report.add("A fresh controller (its own schema, no pins, reconcile interval 30 s, the default) and agents that only "
                + "send heartbeats (every " + HEARTBEAT.toSeconds() + " s, as the Welcome says; default 10 s). The gateway notes "
                + "each heartbeat in memory and writes them all every " + LAST_SEEN_FLUSH.toSeconds() + " s (default 10 s) with one "
                + "`updateLastSeen` store call: one UPDATE statement for the whole batch (LastSeenUpdates), which moves `lastSeen` of "
                + "every server heard from since the last flush. Each fleet size is measured over " + windowSeconds
                + " s, after all its agents connected and " + settleSeconds + " s of settling; the larger fleet is the smaller one plus more agents "
                + "started in the same JVM of simulated agents. The first row is the controller with no agent at all.");
        report.add("");
        report.add("| agents | prepare, then connect | heartbeats/s | PostgreSQL commits/s | store write calls/s "
                + "(of them `updateLastSeen`) | rows updated/s | controller CPU | PostgreSQL backends CPU | "
                + "simulated agents' JVM CPU (not the controller's) |");
        report.add("|---|---|---|---|---|---|---|---|---|");
        List<String> details = new ArrayList<>();
        try (Controller c = new Controller(dir, pki, url, user, schema, Duration.ofSeconds(30)); Pg pg = new Pg(url, user, schema)) {
            int max = Arrays.stream(steps).max().orElse(0);
            Thread.sleep(STATS_LAG.toMillis());
            Snapshot z0 = Snapshot.take(c, null, pg);
            Thread.sleep(Math.max(5, windowSeconds / 2) * 1000L);
            Snapshot z1 = Snapshot.take(c, null, pg);
            double zWall = (z1.nanos - z0.nanos) / 1e9;
            report.add(String.format("| 0 | - | 0 | %.2f | %.2f (%.2f) | %.0f | %.1f%% of one core | %.1f%% of one core | - |",
                    z1.commitsSince(z0) / zWall, (writes(z1.calls) - writes(z0.calls)) / zWall, calls(z0, z1, "updateLastSeen") / zWall,
                    (z1.tupUpdated - z0.tupUpdated) / zWall, 100.0 * (z1.controllerCpu - z0.controllerCpu) / (z1.nanos - z0.nanos),
                    100.0 * (z1.pgCpu - z0.pgCpu) / (z1.nanos - z0.nanos)));
            if (!z1.restartWarning(z0).isEmpty()) {
                details.add("With no agent:" + z1.restartWarning(z0));
            }
            Sims sims = null;
            try {
                int have = 0;
                for (int step : steps) {
                    int added = step - have;
                    int offset;
                    if (sims == null) {
                        sims = c.spawn(dir, step, "idle", "role=idle", Math.max(512, max / 5));
                        offset = 0;
                    } else {
                        offset = sims.lines().size();
                        sims.command("start " + added);
                    }
                    long prepared = sims.awaitPrepared(offset, Duration.ofMinutes(20));
                    long t = System.nanoTime();
                    awaitConnected(c, step, Duration.ofMinutes(20));
                    long connect = System.nanoTime() - t;
                    have = step;
                    Thread.sleep(settleSeconds * 1000L);
                    Snapshot s0 = Snapshot.take(c, sims, pg);
                    long hb0 = sims.heartbeats();
                    Thread.sleep(windowSeconds * 1000L);
                    Snapshot s1 = Snapshot.take(c, sims, pg);
                    long hb1 = sims.heartbeats();
                    double wall = (s1.nanos - s0.nanos) / 1e9;
                    report.add(String.format("| %d | %s%.1f s, then %s (%.0f per second) | %.0f | %.2f | %.2f (%.2f) | %.0f | %.1f%% of one core | "
                            + "%.1f%% of one core | %.1f%% of one core |",
                            step, added == step ? "" : added + " more: ", prepared / 1e3, Report.seconds(connect), added / (connect / 1e9),
                            (hb1 - hb0) / wall, s1.commitsSince(s0) / wall, (writes(s1.calls) - writes(s0.calls)) / wall,
                            calls(s0, s1, "updateLastSeen") / wall, (s1.tupUpdated - s0.tupUpdated) / wall,
                            100.0 * (s1.controllerCpu - s0.controllerCpu) / (s1.nanos - s0.nanos),
                            100.0 * (s1.pgCpu - s0.pgCpu) / (s1.nanos - s0.nanos), 100.0 * (s1.simCpu - s0.simCpu) / (s1.nanos - s0.nanos)));
                    details.add("Over the " + windowSeconds + " s with " + step + " agents: rows written per table, and store calls by method:"
                            + s1.restartWarning(s0));
                    details.add("");
                    details.add(tableRows(s0, s1));
                    details.add("");
                    details.add(calls(s0, s1, wall));
                    details.add("");
                }
            } finally {
                if (sims != null) {
                    sims.close();
                }
            }
        }
        report.add("");
        report.add("Prepare: the simulated agents' own set-up, before any connection (a key, a certificate from the test CA and a "
                + "TLS context per agent, on 2 threads; a real agent has these already). Connect: from then until the gateway "
                + "counts every agent connected (TLS handshake with a client certificate, Hello, registration in the store, "
                + "Welcome), at most 64 handshakes in flight. Commits include read-only transactions (every autocommit query "
                + "counts); the benchmark's own readings are not counted. CPU figures are per process over the window: 100% is "
                + "one of the 2 cores.");
        report.add("");
        details.forEach(report::add);
    }

    // ---- helpers ----

    private static void awaitConnected(Controller c, int count, Duration limit) throws InterruptedException {
        long t0 = System.nanoTime();
        long[] last = {t0};
        waitUntil(limit, () -> {
            int n = c.gateway.connectedAgents().size();
            if (System.nanoTime() - last[0] > 5_000_000_000L) {
                last[0] = System.nanoTime();
                System.out.printf("  %d of %d agents connected after %.0f s%n", n, count, (last[0] - t0) / 1e9);
            }
            return n >= count;
        }, 250, count + " agents to connect");
    }

    private static void awaitVersion(Pg pg, String version, int count, Duration limit) throws InterruptedException {
        long t0 = System.nanoTime();
        long[] last = {t0};
        waitUntil(limit, () -> {
            int n = pg.countAt("app", version);
            if (System.nanoTime() - last[0] > 1_000_000_000L) {
                last[0] = System.nanoTime();
                System.out.printf("  %d of %d servers at app %s after %.1f s%n", n, count, version, (last[0] - t0) / 1e9);
            }
            return n >= count;
        }, 200, count + " servers at app " + version);
    }

    private static void awaitDeploymentsEnded(DeployKit kit, Duration limit) throws InterruptedException {
        waitUntil(limit, () -> kit.deployments().stream().allMatch(d -> d.status().isTerminal()), 200, "deployments to end");
    }

    private static void waitUntil(Duration limit, BooleanSupplier condition, long everyMillis, String what) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out after " + limit + " waiting for " + what);
            }
            Thread.sleep(everyMillis);
        }
    }

    /** The converging deployments of web/app to {@code version} started since {@code since}, oldest first. */
    private static List<Deployment> converging(DeployKit kit, String version, Instant since) {
        List<Deployment> found = new ArrayList<>();
        for (Deployment d : kit.deployments()) {
            if (d.plan().name().equals("converge web/app to " + version) && !firstEvent(d).isBefore(since)) {
                found.add(d);
            }
        }
        Collections.reverse(found);
        return found;
    }

    private static Instant firstEvent(Deployment d) {
        return d.events().get(0).time();
    }

    private static Instant lastEvent(Deployment d) {
        Instant last = null;
        for (DeployEvent e : d.events()) {
            if (e instanceof DeployEvent.DeploymentStatusChanged) {
                last = e.time();
            }
        }
        return last;
    }

    private static String batchSizes(Deployment d) {
        List<Integer> sizes = d.batches().stream().map(List::size).toList();
        return sizes.size() <= 8 ? sizes.toString() : sizes.subList(0, 8) + "... (" + sizes.size() + ")";
    }

    private static double secondsBetween(Instant a, Instant b) {
        return Duration.between(a, b).toNanos() / 1e9;
    }

    private static long percentile(List<Long> sorted, int p) {
        return sorted.get(Math.min(sorted.size() - 1, (sorted.size() * p) / 100));
    }

    private static long last(List<Long> sorted) {
        return sorted.get(sorted.size() - 1);
    }

    private static long writes(Map<String, Long> calls) {
        return calls.entrySet().stream().filter(e -> CountingStore.WRITES.contains(e.getKey())).mapToLong(Map.Entry::getValue).sum();
    }

    private static String tableRows(Snapshot a, Snapshot b) {
        StringBuilder out = new StringBuilder("| table | inserted | updated (of which HOT) | deleted |\n|---|---|---|---|");
        for (Map.Entry<String, long[]> e : b.tables.entrySet()) {
            long[] before = a.tables.getOrDefault(e.getKey(), new long[4]);
            long[] after = e.getValue();
            long ins = after[0] - before[0];
            long upd = after[1] - before[1];
            long hot = after[2] - before[2];
            long del = after[3] - before[3];
            if (ins + upd + del > 0) {
                out.append(String.format("%n| %s | %d | %d (%d) | %d |", e.getKey(), ins, upd, hot, del));
            }
        }
        return out.toString();
    }

    private static void addIfAny(Report report, String text) {
        if (!text.isEmpty()) {
            report.add(text);
        }
    }

    private static long calls(Snapshot a, Snapshot b, String method) {
        return b.calls.getOrDefault(method, 0L) - a.calls.getOrDefault(method, 0L);
    }

    private static String calls(Snapshot a, Snapshot b, double seconds) {
        StringBuilder out = new StringBuilder("| store call | kind | calls | per second |\n|---|---|---|---|");
        b.calls.entrySet().stream().map(e -> Map.entry(e.getKey(), e.getValue() - a.calls.getOrDefault(e.getKey(), 0L)))
                .filter(e -> e.getValue() > 0).sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> out.append(String.format("%n| `%s` | %s | %d | %.1f |", e.getKey(),
                        CountingStore.WRITES.contains(e.getKey()) ? "write" : "read", e.getValue(), e.getValue() / seconds)));
        return out.toString();
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + ", " + f[1] + ", " + f[2];
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    private static String serverVersion(String url, String user) throws SQLException {
        try (Connection c = DriverManager.getConnection(url, user, null); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("show server_version")) {
            rs.next();
            return rs.getString(1).split(" ")[0];
        }
    }

    private static boolean createDatabase(String adminUrl, String user, String database) throws SQLException {
        try (Connection c = DriverManager.getConnection(adminUrl, user, null); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("select 1 from pg_database where datname = '" + database + "'")) {
                if (rs.next()) {
                    return false;
                }
            }
            s.execute("create database " + database);
            return true;
        }
    }

    private static void dropDatabase(String adminUrl, String user, String database) throws SQLException {
        try (Connection c = DriverManager.getConnection(adminUrl, user, null); Statement s = c.createStatement()) {
            s.execute("drop database if exists " + database + " with (force)");
        }
    }

    /** CPU time of a process so far, in ns (Linux: from /proc); 0 when it cannot be read. */
    private static long cpuNanos(long pid) {
        return ProcessHandle.of(pid).flatMap(h -> h.info().totalCpuDuration()).map(Duration::toNanos).orElse(0L);
    }

    /** The counters and CPU times at one moment; {@code own} counts the benchmark's own transactions before this reading. */
    private record Snapshot(long nanos, long controllerCpu, long simCpu, long pgCpu, long xactCommit, long tupInserted, long tupUpdated,
            long tupDeleted, Map<String, long[]> tables, Map<String, Long> calls, long own, String pgStarted) {
        static Snapshot take(Controller c, Sims sims, Pg pg) throws SQLException {
            long nanos = System.nanoTime();
            long cpu = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
            Map<String, Long> calls = c.counting.counts();
            long sim = sims == null ? 0 : cpuNanos(sims.process.pid());
            return pg.read(nanos, cpu, sim, calls);
        }

        long rows() {
            return tupInserted + tupUpdated + tupDeleted;
        }

        /** A warning for the report when PostgreSQL restarted between {@code start} and this reading, else "". */
        String restartWarning(Snapshot start) {
            return pgStarted.equals(start.pgStarted) ? "" : "\n\n**Warning: PostgreSQL restarted during this window** (at " + pgStarted
                    + ", someone else's test on the shared server): its counters for this window are not valid.\n";
        }

        /** Commits between {@code start} and this reading, less the benchmark's own (its readings and polls). */
        long commitsSince(Snapshot start) {
            return xactCommit - start.xactCommit - (own - start.own);
        }
    }

    /**
     * Reads PostgreSQL's statistics and the store's tables on a connection of its own (not the
     * store's pool), and polls the servers' inventory on another one. Not thread-safe.
     */
    private static final class Pg implements AutoCloseable {
        private final String url;
        private final String user;
        private final String schema;
        private Connection polling;
        private long pollingPid = -1;
        /** Transactions of this benchmark's own on the database: readings and polls. */
        long own;

        Pg(String url, String user, String schema) {
            this.url = url;
            this.user = user;
            this.schema = schema;
        }

        private Connection polling() throws SQLException {
            if (polling == null) {
                polling = DriverManager.getConnection(url, user, null);
                try (Statement s = polling.createStatement(); ResultSet rs = s.executeQuery("select pg_backend_pid()")) {
                    rs.next();
                    pollingPid = rs.getLong(1);
                    own++;
                }
            }
            return polling;
        }

        /** Closes the polling connection: its backend publishes its own statistics as it exits. */
        void closePolling() throws SQLException {
            if (polling != null) {
                polling.close();
                polling = null;
                pollingPid = -1;
            }
        }

        /**
         * One reading, in one transaction on a connection of its own: {@code pg_stat_database} of the
         * store's database, {@code pg_stat_user_tables} of its schema, and the CPU time of every backend
         * connected to the database (the store's pool, autovacuum; not this reading's nor the polling
         * one). The reading's own transaction is published when its backend exits: the next reading
         * counts it, and subtracts it through {@link Snapshot#own}.
         */
        Snapshot read(long nanos, long controllerCpu, long simCpu, Map<String, Long> calls) throws SQLException {
            long ownBefore = own;
            try (Connection c = DriverManager.getConnection(url, user, null); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                long[] db = new long[4];
                try (ResultSet rs = s.executeQuery("select xact_commit, tup_inserted, tup_updated, tup_deleted from pg_stat_database "
                        + "where datname = current_database()")) {
                    rs.next();
                    for (int i = 0; i < 4; i++) {
                        db[i] = rs.getLong(i + 1);
                    }
                }
                Map<String, long[]> tables = new TreeMap<>();
                try (ResultSet rs = s.executeQuery("select relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del "
                        + "from pg_stat_user_tables where schemaname = '" + schema + "'")) {
                    while (rs.next()) {
                        tables.put(rs.getString(1), new long[] {rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5)});
                    }
                }
                String started;
                try (ResultSet rs = s.executeQuery("select pg_postmaster_start_time()::text")) {
                    rs.next();
                    started = rs.getString(1);
                }
                long backends = 0;
                try (ResultSet rs = s.executeQuery("select pid from pg_stat_activity where datname = current_database() "
                        + "and pid <> pg_backend_pid() and pid <> " + pollingPid)) {
                    while (rs.next()) {
                        backends += cpuNanos(rs.getLong(1));
                    }
                }
                c.commit();
                own++;
                return new Snapshot(nanos, controllerCpu, simCpu, backends, db[0], db[1], db[2], db[3], tables, calls, ownBefore, started);
            }
        }

        int countAt(String pkg, String version) {
            return polled(() -> {
                try (PreparedStatement s = polling().prepareStatement("select count(*) from " + schema + ".servers "
                        + "where doc->'inventory'->>? = ?")) {
                    s.setString(1, pkg);
                    s.setString(2, version);
                    own++;
                    try (ResultSet rs = s.executeQuery()) {
                        rs.next();
                        return rs.getInt(1);
                    }
                }
            });
        }

        /** Ids of the servers whose inventory does not have {@code pkg} at {@code version}. */
        Set<String> notAt(String pkg, String version) {
            return polled(() -> {
                Set<String> ids = new java.util.HashSet<>();
                try (PreparedStatement s = polling().prepareStatement("select id from " + schema + ".servers "
                        + "where coalesce(doc->'inventory'->>?, '') <> ?")) {
                    s.setString(1, pkg);
                    s.setString(2, version);
                    own++;
                    try (ResultSet rs = s.executeQuery()) {
                        while (rs.next()) {
                            ids.add(rs.getString(1));
                        }
                    }
                }
                return ids;
            });
        }

        /**
         * From the inventory history, after {@code sinceMillis}: when the controller recorded
         * {@code pkg} removed from {@code server}, and when next at {@code version} again (epoch ms).
         */
        long[] removedAndRestored(String server, String pkg, String version, long sinceMillis) throws SQLException {
            long removed = -1;
            try (PreparedStatement s = polling().prepareStatement("select to_version, at from " + schema + ".inventory_history "
                    + "where server_id = ? and package = ? and at >= ? order by id")) {
                s.setString(1, server);
                s.setString(2, pkg);
                s.setTimestamp(3, new java.sql.Timestamp(sinceMillis));
                own++;
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        String to = rs.getString(1);
                        long at = rs.getTimestamp(2).getTime();
                        if (removed < 0 && to == null) {
                            removed = at;
                        } else if (removed >= 0 && version.equals(to)) {
                            return new long[] {removed, at};
                        }
                    }
                }
            }
            throw new IllegalStateException("no removal and restore of " + pkg + " on " + server + " in the inventory history");
        }

        private interface Query<T> {
            T run() throws SQLException;
        }

        /** Runs a poll, on a new connection after a failed one (PostgreSQL restarted by someone else's test), for up to 2 minutes. */
        private <T> T polled(Query<T> query) {
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (true) {
                try {
                    return query.run();
                } catch (SQLException e) {
                    System.err.println("poll failed (" + e.getMessage() + "); again on a new connection in 1 s");
                    try {
                        closePolling();
                    } catch (SQLException ignored) {
                        // broken anyway
                    }
                    polling = null;
                    pollingPid = -1;
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("PostgreSQL unreachable for 2 minutes", e);
                    }
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(ie);
                    }
                }
            }
        }

        @Override
        public void close() throws SQLException {
            closePolling();
        }
    }

    /** The simulated agents' JVM: its standard input takes commands, its output goes to a log file. */
    private static final class Sims implements AutoCloseable {
        final Process process;
        final Path log;
        private final OutputStream commands;

        Sims(Process process, Path log) {
            this.process = process;
            this.log = log;
            this.commands = process.getOutputStream();
        }

        void command(String line) throws IOException {
            commands.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            commands.flush();
        }

        List<String> lines() throws IOException {
            return Files.readAllLines(log);
        }

        /**
         * Waits for {@code prepared N in MS ms} and {@code connecting N} after line {@code offset} of the
         * log; returns the preparation time in ms.
         */
        long awaitPrepared(int offset, Duration limit) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + limit.toNanos();
            long prepared = -1;
            while (System.nanoTime() < deadline) {
                List<String> lines = lines();
                for (String line : lines.subList(Math.min(offset, lines.size()), lines.size())) {
                    String[] w = line.split(" ");
                    if (w.length == 5 && w[0].equals("prepared")) {
                        prepared = Long.parseLong(w[3]);
                    } else if (w.length == 2 && w[0].equals("connecting") && prepared >= 0) {
                        return prepared;
                    }
                }
                if (!process.isAlive()) {
                    throw new IllegalStateException("the simulated agents' JVM exited; see " + log);
                }
                Thread.sleep(20);
            }
            throw new IllegalStateException("the simulated agents were not prepared in " + limit + "; see " + log);
        }

        /** Heartbeats the simulated agents have sent so far (asks with {@code stats}). */
        long heartbeats() throws IOException, InterruptedException {
            int offset = lines().size();
            command("stats");
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < deadline) {
                List<String> lines = lines();
                for (String line : lines.subList(Math.min(offset, lines.size()), lines.size())) {
                    if (line.startsWith("stats ")) {
                        for (String kv : line.split(" ")) {
                            if (kv.startsWith("heartbeats=")) {
                                return Long.parseLong(kv.substring("heartbeats=".length()));
                            }
                        }
                    }
                }
                Thread.sleep(20);
            }
            throw new IllegalStateException("the simulated agents did not answer 'stats'; see " + log);
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The controller: a PostgreSQL store (counted), the agent gateway and a DeployKit on both. */
    private static final class Controller implements AutoCloseable {
        final PostgresStore store;
        final CountingStore counting;
        final AgentGateway gateway;
        final DeployKit kit;
        final AgentFixtures.Pki pki;
        private final String url;
        private final String user;
        private final String schema;

        Controller(Path dir, AgentFixtures.Pki pki, String url, String user, String schema, Duration reconcile) {
            this.pki = pki;
            this.url = url;
            this.user = user;
            this.schema = schema;
            this.store = PostgresStore.builder(url).user(user).schema(schema).controllerId("bench-controller").build();
            this.counting = new CountingStore(store);
            this.gateway = AgentFixtures.gateway(pki).heartbeat(HEARTBEAT).lastSeenFlush(LAST_SEEN_FLUSH)
                    .maxNewAgentsPerMinute(1_000_000).build();
            this.kit = DeployKit.builder().store(counting.store()).transport(gateway.transport()).artifactDir(dir.resolve("artifacts-" + schema))
                    .reconcileInterval(reconcile).build();
            gateway.start(kit.servers());
        }

        Sims spawn(Path dir, int count, String prefix, String labels) throws IOException {
            return spawn(dir, count, prefix, labels, 1024);
        }

        Sims spawn(Path dir, int count, String prefix, String labels, int heapMib) throws IOException {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Path log = dir.resolve("sims-" + prefix + ".log");
            Process p = new ProcessBuilder(java, "-Xmx" + heapMib + "m", "-cp", System.getProperty("java.class.path"), SimAgents.class.getName(),
                    "--controller", "127.0.0.1:" + gateway.port(), "--count", Integer.toString(count), "--prefix", prefix,
                    "--labels", labels, "--ca", pki.ca().toString(), "--ca-key", pki.caKey().toString(), "--token", AgentFixtures.TOKEN)
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            return new Sims(p, log);
        }

        @Override
        public void close() {
            kit.close(); // closes the store too
            gateway.close();
            try (Connection c = DriverManager.getConnection(url, user, null); Statement s = c.createStatement()) {
                s.execute("drop schema if exists " + schema + " cascade");
            } catch (SQLException e) {
                System.err.println("could not drop the benchmark schema " + schema + ": " + e.getMessage());
            }
        }
    }
}
