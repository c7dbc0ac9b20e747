package dev.deploykit.benchmarks;

import dev.deploykit.Artifact;
import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.Server;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.transport.grpc.AgentGateway;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * REAL agent processes, not simulated ones: the shipped {@code deploy-agent.jar} started with the
 * JVM options and environment of the systemd unit ({@code deploy-agent/systemd/deploykit-agent.service},
 * read from the file so the figures follow the unit), each with its own state dir, root and mutual-TLS
 * certificate; this JVM is the controller (gateway and DeployKit). Measures per agent the time from
 * process start to connected and the idle RSS; then rounds of one fresh artifact to every agent at
 * once ({@code ensureArtifact}: sent, written to the agent's cache, SHA-256 verified there) with the
 * wall time, agents' and controller's CPU, the agents' peak RSS during the transfer, and the bytes served.
 *
 * <p>Args: {@code --agents 30 --mib 64 --rounds 3 --jar deploy-agent/target/deploy-agent.jar
 * --unit deploy-agent/systemd/deploykit-agent.service --report FILE}.
 */
public final class AgentFootprintBenchmark {
    static final long CLK_TCK = 100; // Linux USER_HZ
    private static final long PAGE = 4096;

    public static void main(String[] args) throws Exception {
        int agents = SshBenchmark.intArg(args, "--agents", 30);
        int mib = SshBenchmark.intArg(args, "--mib", 64);
        int rounds = SshBenchmark.intArg(args, "--rounds", 3);
        Path jar = Path.of(SshBenchmark.stringArg(args, "--jar", "deploy-agent/target/deploy-agent.jar"));
        Path unit = Path.of(SshBenchmark.stringArg(args, "--unit", "deploy-agent/systemd/deploykit-agent.service"));
        Path reportFile = Path.of(SshBenchmark.stringArg(args, "--report", "benchmarks/reports/agent-footprint.md"));
        Unit u = Unit.read(unit);
        Path dir = Report.scratchDir("dk-bench-footprint-");
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Report report = new Report("Real agent processes: footprint and fan-out");
        report.add("REAL agents: " + agents + " `deploy-agent.jar` processes on this machine (" + Runtime.getRuntime().availableProcessors()
                + " cores, shared with the controller), started as the unit starts them: `java " + String.join(" ", u.jvmOptions) + "`"
                + (u.environment.isEmpty() ? "" : " with " + u.environment) + ", mutual TLS on loopback. JDK " + Runtime.version() + ".");
        report.add("");
        AgentGateway gateway = AgentFixtures.gateway(pki).maxNewAgentsPerMinute(1_000_000).build();
        List<Agent> started = new ArrayList<>();
        try (DeployKit kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build()) {
            gateway.start(kit.servers());
            // One at a time, so that each start is timed on an otherwise quiet machine.
            List<Long> connect = new ArrayList<>();
            for (int i = 0; i < agents; i++) {
                Agent a = Agent.start(dir, pki, gateway.port(), "real-" + i, jar, u);
                started.add(a);
                AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> gateway.connectedAgents().contains(a.id), a.id + " to connect");
                connect.add(System.nanoTime() - a.startedAt);
            }
            Thread.sleep(10_000);
            List<Long> idle = new ArrayList<>();
            for (Agent a : started) {
                idle.add(rss(a.pid()));
            }
            report.add("## Start and idle");
            report.add("");
            report.add("| measure | median | max | target |");
            report.add("|---|---|---|---|");
            report.add(String.format("| process start to connected | %.2f s | %.2f s | ≤ 1 s |", median(connect) / 1e9, Collections.max(connect) / 1e9));
            report.add(String.format("| idle RSS, 10 s after the last connected | %.1f MiB | %.1f MiB | ≤ 48 MiB |", median(idle) / 1048576.0,
                    Collections.max(idle) / 1048576.0));
            report.add("");

            report.add("## One fresh " + mib + " MiB artifact to all " + agents + " agents at once, per round");
            report.add("");
            report.add("| round | wall | agents' CPU | controller CPU | agents' peak RSS (median / max) | bytes served |");
            report.add("|---|---|---|---|---|---|");
            FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
            for (int round = 1; round <= rounds; round++) {
                Path file = randomFile(dir.resolve("payload-" + round), mib, round);
                Artifact artifact = store.put(file);
                Files.delete(file);
                long agentCpu0 = cpuTicks(started);
                long controllerCpu0 = controllerCpu();
                Map<String, Long> peak = new ConcurrentHashMap<>();
                AtomicBoolean sampling = new AtomicBoolean(true);
                Thread sampler = new Thread(() -> {
                    while (sampling.get()) {
                        for (Agent a : started) {
                            peak.merge(a.id, rss(a.pid()), Math::max);
                        }
                        sleep(100);
                    }
                });
                sampler.start();
                long t0 = System.nanoTime();
                ExecutorService pool = Executors.newFixedThreadPool(agents);
                List<Future<?>> all = new ArrayList<>();
                for (Agent a : started) {
                    all.add(pool.submit(() -> {
                        try (NodeSession s = gateway.transport().open(Server.of(a.id, Binding.agent(a.id), Map.of()))) {
                            s.ensureArtifact(artifact, store);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : all) {
                    f.get();
                }
                long wall = System.nanoTime() - t0;
                pool.shutdown();
                sampling.set(false);
                sampler.join();
                double agentCpu = (cpuTicks(started) - agentCpu0) / (double) CLK_TCK;
                double controllerCpu = (controllerCpu() - controllerCpu0) / 1e9;
                List<Long> peaks = new ArrayList<>(peak.values());
                report.add(String.format("| %d | %s | %.1f s | %.1f s | %.1f / %.1f MiB | %d MiB |", round, Report.seconds(wall), agentCpu, controllerCpu,
                        median(peaks) / 1048576.0, Collections.max(peaks) / 1048576.0, (long) mib * agents));
                store.delete(artifact.sha256());
            }
            report.add("");
            report.add("Targets (issue #19): steady RSS during a 64 MiB transfer ≤ 80 MiB; agent CPU per byte within 1.5x of the simulated agents "
                    + "(`agent.md`, `SimAgents`).");
        } finally {
            for (Agent a : started) {
                a.process.destroy();
            }
            for (Agent a : started) {
                a.process.waitFor();
            }
            gateway.close();
        }
        report.write(reportFile);
        Report.deleteTree(dir);
    }

    /** The unit's JVM options (between {@code java} and {@code -jar} in ExecStart) and its Environment= settings. */
    record Unit(List<String> jvmOptions, Map<String, String> environment) {
        static Unit read(Path unit) throws IOException {
            String text = Files.readString(unit);
            Matcher exec = Pattern.compile("(?m)^ExecStart=\\S*java\\s+(.*?)\\s+-jar\\s").matcher(text);
            if (!exec.find()) {
                throw new IllegalStateException(unit + ": no ExecStart=... java ... -jar line");
            }
            Map<String, String> env = new HashMap<>();
            Matcher e = Pattern.compile("(?m)^Environment=(\\w+)=(\\S*)$").matcher(text);
            while (e.find()) {
                env.put(e.group(1), e.group(2));
            }
            return new Unit(List.of(exec.group(1).trim().split("\\s+")), env);
        }
    }

    record Agent(String id, Process process, long startedAt) {
        static Agent start(Path dir, AgentFixtures.Pki pki, int port, String id, Path jar, Unit unit) throws IOException {
            return start(dir, pki, port, id, jar, unit, List.of());
        }

        /** As {@link #start(Path, AgentFixtures.Pki, int, String, Path, Unit)}, with {@code extra} agent flags. */
        static Agent start(Path dir, AgentFixtures.Pki pki, int port, String id, Path jar, Unit unit, List<String> extra) throws IOException {
            return start(dir, pki, List.of(), "127.0.0.1", port, id, jar, unit, extra);
        }

        /** As {@link #start(Path, AgentFixtures.Pki, int, String, Path, Unit, List)}, run by {@code prefix} (e.g. in a network namespace), with the controller at {@code host}. */
        static Agent start(Path dir, AgentFixtures.Pki pki, List<String> prefix, String host, int port, String id, Path jar, Unit unit,
                List<String> extra) throws IOException {
            Path state = Files.createDirectories(dir.resolve(id));
            List<String> cmd = new ArrayList<>(prefix);
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(unit.jvmOptions());
            cmd.addAll(List.of("-jar", jar.toAbsolutePath().toString()));
            List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), port, id, state.resolve("state"),
                    Files.createDirectories(state.resolve("root")));
            args.set(args.indexOf("--controller") + 1, host + ":" + port);
            cmd.addAll(args);
            cmd.addAll(extra);
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(state.resolve("agent.log").toFile());
            pb.environment().putAll(unit.environment());
            long t = System.nanoTime();
            return new Agent(id, pb.start(), t);
        }

        long pid() {
            return process.pid();
        }
    }

    static long rss(long pid) {
        try {
            String[] statm = Files.readString(Path.of("/proc", Long.toString(pid), "statm")).trim().split(" ");
            return Long.parseLong(statm[1]) * PAGE;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    static long cpuTicks(List<Agent> agents) {
        long sum = 0;
        for (Agent a : agents) {
            try {
                String stat = Files.readString(Path.of("/proc", Long.toString(a.pid()), "stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                sum += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime
            } catch (IOException | RuntimeException e) {
                // gone
            }
        }
        return sum;
    }

    static long controllerCpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static Path randomFile(Path file, int mib, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] chunk = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < mib; i++) {
                random.nextBytes(chunk);
                out.write(chunk);
            }
        }
        return file;
    }

    private static long median(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
