package dev.deploykit.benchmarks;

import dev.deploykit.Artifact;
import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.Server;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.agent.FaultProxy;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.transport.grpc.AgentGateway;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Relay agents against direct fetches, with REAL agent processes ({@code deploy-agent.jar}, started
 * as the unit starts them) on this machine: one fresh artifact to every agent at once, first by agents
 * without {@code --relay} (every copy through the controller's link), then by as many agents with
 * {@code --relay} (the gateway's fan-out tree). The controller's link is a rate-limited proxy
 * ({@code --link-mib-per-s}); each relay's uplink is capped the same by {@code --relay-mib-per-s};
 * agents' downlinks are not capped. Reports wall time and controller egress for both.
 *
 * <p>Args: {@code --agents 30 --mib 64 --link-mib-per-s 64 --fan-out 4 --report FILE}.
 */
public final class RelayBenchmark {
    public static void main(String[] args) throws Exception {
        List<Integer> ns = java.util.Arrays.stream(SshBenchmark.stringArg(args, "--agents", "10,30,100").split(","))
                .map(String::trim).map(Integer::valueOf).toList();
        int mib = SshBenchmark.intArg(args, "--mib", 64);
        int link = SshBenchmark.intArg(args, "--link-mib-per-s", 64);
        int fanOut = SshBenchmark.intArg(args, "--fan-out", 4);
        Path jar = Path.of(SshBenchmark.stringArg(args, "--jar", "deploy-agent/target/deploy-agent.jar"));
        Path unitFile = Path.of(SshBenchmark.stringArg(args, "--unit", "deploy-agent/systemd/deploykit-agent.service"));
        Path reportFile = Path.of(SshBenchmark.stringArg(args, "--report", "benchmarks/reports/relay.md"));
        AgentFootprintBenchmark.Unit unit = AgentFootprintBenchmark.Unit.read(unitFile);
        Path dir = Report.scratchDir("dk-bench-relay-");
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Report report = new Report("Relay agents: controller egress and wall time");
        report.add("REAL agents: N `deploy-agent.jar` processes per mode and N on this machine (" + Runtime.getRuntime().availableProcessors()
                + " cores, shared with the controller and every agent; no simulated agents), started as the unit starts them, mutual TLS on "
                + "loopback, JDK " + Runtime.version() + ". Links: the controller's is a rate-limited TCP proxy at " + link
                + " MiB/s (all agents together); each relay sends at most " + link + " MiB/s (`--relay-mib-per-s`); agents' downlinks "
                + "are not capped, and agents are not in network namespaces of their own (relays reach each other on loopback). Fan-out "
                + fanOut + ". One fresh " + mib + " MiB artifact to all N agents at once, each verifying its SHA-256: first agents "
                + "without `--relay` (every copy through the controller's link), then as many with `--relay`.");
        report.add("");
        report.add("| N | mode | wall | controller egress | egress / artifact | bytes a relay served (max) | target |");
        report.add("|---|---|---|---|---|---|---|");
        AgentGateway gateway = AgentFixtures.gateway(pki).maxNewAgentsPerMinute(1_000_000).relayFanOut(fanOut).build();
        FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
        Map<String, Map<Integer, List<Double>>> wallByMode = new java.util.LinkedHashMap<>();
        Map<String, Map<Integer, List<Double>>> egressByMode = new java.util.LinkedHashMap<>();
        DeployKit kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
        gateway.start(kit.servers());
        try (kit; FaultProxy controllerLink = new FaultProxy(gateway.port())) {
            controllerLink.limitDownstream((long) link << 20);
            for (int agents : ns) {
                double directWall = 0;
                for (String mode : List.of("direct", "relay")) {
                    List<AgentFootprintBenchmark.Agent> started = new ArrayList<>();
                    try {
                        for (int i = 0; i < agents; i++) {
                            List<String> extra = new ArrayList<>();
                            if (mode.equals("relay")) {
                                try (ServerSocket s = new ServerSocket(0)) {
                                    extra.addAll(List.of("--relay", "127.0.0.1:" + s.getLocalPort(), "--relay-mib-per-s", Integer.toString(link)));
                                }
                            }
                            String id = mode + "-" + agents + "-" + i;
                            AgentFootprintBenchmark.Agent a = AgentFootprintBenchmark.Agent.start(dir, pki, controllerLink.port(), id, jar,
                                    unit, extra);
                            started.add(a);
                            AgentFixtures.waitUntil(Duration.ofSeconds(120), () -> gateway.connectedAgents().contains(id), id + " to connect");
                        }
                        Path file = AgentFootprintBenchmark.randomFile(dir.resolve("payload"), mib, (mode + agents).hashCode());
                        Artifact artifact = store.put(file);
                        Files.delete(file);
                        long egress0 = gateway.artifactBytesServed();
                        Map<String, Long> relayed0 = gateway.relayBytesServed();
                        long t0 = System.nanoTime();
                        ExecutorService pool = Executors.newFixedThreadPool(agents);
                        List<Future<?>> all = new ArrayList<>();
                        for (AgentFootprintBenchmark.Agent a : started) {
                            all.add(pool.submit(() -> {
                                try (NodeSession s = gateway.transport().open(Server.of(a.id(), Binding.agent(a.id()), Map.of()))) {
                                    s.ensureArtifact(artifact, store);
                                }
                                return null;
                            }));
                        }
                        for (Future<?> f : all) {
                            f.get();
                        }
                        pool.shutdown();
                        double wall = (System.nanoTime() - t0) / 1e9;
                        long egress = gateway.artifactBytesServed() - egress0;
                        long maxRelayed = gateway.relayBytesServed().entrySet().stream()
                                .mapToLong(e -> e.getValue() - relayed0.getOrDefault(e.getKey(), 0L)).max().orElse(0);
                        double ratio = egress / (double) artifact.size();
                        if (mode.equals("direct")) {
                            directWall = wall;
                        }
                        wallByMode.computeIfAbsent(mode, k -> new java.util.LinkedHashMap<>()).put(agents, List.of(wall));
                        egressByMode.computeIfAbsent(mode, k -> new java.util.LinkedHashMap<>()).put(agents, List.of(egress / 1048576.0));
                        report.add(String.format("| %d | %s | %.1f s | %.1f MiB | %.2fx | %.1f MiB | %s |", agents, mode, wall, egress / 1048576.0,
                                ratio, maxRelayed / 1048576.0, mode.equals("direct") ? "(baseline)" : "egress ≤ 2x: " + (ratio <= 2 ? "met" : "MISSED")
                                        + "; wall ≤ direct (" + String.format("%.1f s", directWall) + "): " + (wall <= directWall ? "met" : "MISSED")));
                    } finally {
                        for (AgentFootprintBenchmark.Agent a : started) {
                            a.process().destroy();
                        }
                        for (AgentFootprintBenchmark.Agent a : started) {
                            a.process().waitFor();
                        }
                    }
                }
            }
        } finally {
            gateway.close();
        }
        report.add("");
        String base = reportFile.getFileName().toString().replaceFirst("\\.md$", "");
        Path timePng = reportFile.resolveSibling(base + "-time.png");
        Path egressPng = reportFile.resolveSibling(base + "-egress.png");
        PeersBenchmark.plot(wallByMode, ns, "Wall time: " + mib + " MiB to N real agents at once, direct vs relays (one 2-core machine)", "s", timePng);
        PeersBenchmark.plot(egressByMode, ns, "Controller egress: " + mib + " MiB to N real agents, direct vs relays", "MiB", egressPng);
        report.add("![wall time against N](" + timePng.getFileName() + ")");
        report.add("");
        report.add("![controller egress against N](" + egressPng.getFileName() + ")");
        report.write(reportFile);
    }
}
