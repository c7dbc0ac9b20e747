package dev.deploykit.benchmarks;

import dev.deploykit.Artifact;
import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.DeployKit;
import dev.deploykit.Server;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.transport.grpc.AgentGateway;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The agent protocol under load, over mutual TLS on loopback: this JVM is the controller, a second
 * JVM runs the simulated agents ({@link SimAgents}). Measures controller heap per idle agent,
 * dispatch latency of a no-op task to every agent at once, and the time to ship one artifact to
 * many agents and have each verify its SHA-256, for several chunk sizes.
 *
 * <p>Args: {@code --agents 1000 --idle-agents 1000,10000 --fanout-agents 30 --fanout-mib 64 --report FILE}
 * ({@code --idle-agents} needs {@code ulimit -n} above the largest count plus about 500; {@code --idle-only} measures only that).
 */
public final class AgentBenchmark {
    public static void main(String[] args) throws Exception {
        int agents = SshBenchmark.intArg(args, "--agents", 1000);
        int fanoutAgents = SshBenchmark.intArg(args, "--fanout-agents", 30);
        int fanoutMib = SshBenchmark.intArg(args, "--fanout-mib", 64);
        Path reportFile = Path.of(SshBenchmark.stringArg(args, "--report", "benchmarks/reports/agent.md"));
        Path dir = Report.scratchDir("dk-bench-agent-");
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Report report = new Report("Agent protocol benchmark");
        String idleCounts = SshBenchmark.stringArg(args, "--idle-agents", "");
        if (!idleCounts.isBlank()) {
            report.add("## Controller heap per idle agent (SIMULATED agents: one JVM for all of them)");
            report.add("");
            report.add("| idle agents connected | controller heap per agent | target |");
            report.add("|---|---|---|");
            for (String count : idleCounts.split(",")) {
                int n = Integer.parseInt(count.trim());
                try (Controller c = new Controller(dir, pki, 256 * 1024)) {
                    long before = usedHeap();
                    Process sims = c.spawn(n, "idle");
                    try {
                        AgentFixtures.waitUntil(Duration.ofMinutes(10), () -> c.gateway.connectedAgents().size() == n, n + " agents");
                        Thread.sleep(3000);
                        report.add(String.format("| %,d | %.1f KiB | %s |", n, (usedHeap() - before) / 1024.0 / n,
                                n <= 1000 ? "under 20 KiB" : "measured"));
                    } finally {
                        sims.destroyForcibly();
                        sims.waitFor();
                    }
                }
            }
            report.add("");
        }

        if (java.util.Arrays.asList(args).contains("--idle-only")) {
            report.write(reportFile);
            return;
        }
        report.add("## " + agents + " idle agents, then a no-op task to each at once");
        report.add("");
        try (Controller c = new Controller(dir, pki, 256 * 1024)) {
            long before = usedHeap();
            Process sims = c.spawn(agents, "idle");
            try {
                AgentFixtures.waitUntil(Duration.ofMinutes(5), () -> c.gateway.connectedAgents().size() == agents, agents + " agents");
                Thread.sleep(3000);
                long after = usedHeap();
                report.add(String.format("- controller heap per connected idle agent: %.1f KiB (target: under 100 KiB)",
                        (after - before) / 1024.0 / agents));
                List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
                ExecutorService pool = Executors.newFixedThreadPool(Math.min(agents, 256));
                List<Future<?>> all = new ArrayList<>();
                long t0 = System.nanoTime();
                for (int i = 0; i < agents; i++) {
                    String id = "idle-" + i;
                    all.add(pool.submit(() -> {
                        try (NodeSession s = c.gateway.transport().open(Server.of(id, Binding.agent(id), Map.of()))) {
                            long start = System.nanoTime();
                            s.exec(Command.of("true"), OutputListener.IGNORE);
                            latencies.add(System.nanoTime() - start);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : all) {
                    f.get();
                }
                long wall = System.nanoTime() - t0;
                pool.shutdown();
                List<Long> sorted = new ArrayList<>(latencies);
                Collections.sort(sorted);
                report.add(String.format("- no-op task to %d agents: p50 %.1f ms, p99 %.1f ms, all answered in %s", agents,
                        sorted.get(sorted.size() / 2) / 1e6, sorted.get((int) (sorted.size() * 0.99)) / 1e6, Report.seconds(wall)));
            } finally {
                sims.destroyForcibly();
            }
        }
        report.add("");

        report.add("## One " + fanoutMib + " MiB artifact to " + fanoutAgents + " agents, SHA-256 verified on each");
        report.add("");
        report.add("First run on fresh JVMs (cold: the JIT compiler and first-touch heap pages take much of the two cores), "
                + "then three more runs on the same processes (warm), as a long-running controller and agents are: the best and the median.");
        report.add("");
        report.add("| chunk size | cold wall time | warm, best | warm, median | warm best, aggregate MiB/s |");
        report.add("|---|---|---|---|---|");
        Path file = dir.resolve("fan.bin");
        Random random = new Random(1);
        byte[] chunk = new byte[1024 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < fanoutMib; i++) {
                random.nextBytes(chunk);
                out.write(chunk);
            }
        }
        FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
        Artifact artifact = store.put(file);
        for (int chunkBytes : new int[] {64 * 1024, 256 * 1024, 1024 * 1024}) {
            try (Controller c = new Controller(dir, pki, chunkBytes)) {
                Process sims = c.spawn(fanoutAgents, "fan");
                try {
                    AgentFixtures.waitUntil(Duration.ofMinutes(2), () -> c.gateway.connectedAgents().size() == fanoutAgents, "fan-out agents");
                    long cold = fanOut(c, fanoutAgents, artifact, store);
                    List<Long> warm = new ArrayList<>();
                    for (int run = 0; run < 3; run++) {
                        warm.add(fanOut(c, fanoutAgents, artifact, store));
                    }
                    Collections.sort(warm);
                    report.add(String.format("| %d KiB | %s | %s | %s | %.0f |", chunkBytes / 1024, Report.seconds(cold),
                            Report.seconds(warm.get(0)), Report.seconds(warm.get(1)), (double) fanoutMib * fanoutAgents / (warm.get(0) / 1e9)));
                } finally {
                    sims.destroyForcibly();
                }
            }
        }
        report.add("");
        report.add("Target (issue 3): 64 MiB to 30 agents with TLS in under 3 s on this 2-core machine (CPU floor about 1.3 s). "
                + "Controller and simulated agents share the machine's 2 cores.");
        report.write(reportFile);
    }

    /** Ships {@code artifact} to every agent at once; returns the wall time in nanoseconds. */
    private static long fanOut(Controller c, int agents, Artifact artifact, FileArtifactStore store) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(agents);
        try {
            List<Future<?>> all = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < agents; i++) {
                String id = "fan-" + i;
                all.add(pool.submit(() -> {
                    try (NodeSession s = c.gateway.transport().open(Server.of(id, Binding.agent(id), Map.of()))) {
                        s.ensureArtifact(artifact, store);
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get();
            }
            return System.nanoTime() - t0;
        } finally {
            pool.shutdown();
        }
    }

    private static long usedHeap() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** A gateway plus DeployKit, and the simulated agents' JVM. */
    private static final class Controller implements AutoCloseable {
        final AgentGateway gateway;
        final DeployKit kit;
        final Path dir;
        final AgentFixtures.Pki pki;

        Controller(Path dir, AgentFixtures.Pki pki, int chunkBytes) {
            this.dir = dir;
            this.pki = pki;
            // simulated fleets register hundreds of agents at once
            this.gateway = AgentFixtures.gateway(pki).chunkBytes(chunkBytes).maxNewAgentsPerMinute(1_000_000).build();
            this.kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
            gateway.start(kit.servers());
        }

        Process spawn(int count, String prefix) throws Exception {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            // about 100 KiB of heap per simulated agent (TLS engines and buffers), at least 1 GiB
            return new ProcessBuilder(java, "-Xmx" + Math.max(1024, count / 10) + "m", "-cp", System.getProperty("java.class.path"), SimAgents.class.getName(),
                    "--controller", "127.0.0.1:" + gateway.port(), "--count", Integer.toString(count), "--prefix", prefix,
                    "--ca", pki.ca().toString(), "--ca-key", pki.caKey().toString(),
                    "--token", AgentFixtures.TOKEN)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("sims-" + prefix + ".log").toFile()).start();
        }

        @Override
        public void close() {
            kit.close();
            gateway.close();
        }
    }
}
