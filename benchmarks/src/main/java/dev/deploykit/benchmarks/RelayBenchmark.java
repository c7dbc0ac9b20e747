package dev.deploykit.benchmarks;

import dev.deploykit.Artifact;
import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.Server;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.spi.ArtifactDelivery;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.transport.grpc.AgentGateway;
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
 * as the unit starts them), each in a network namespace of its own on a bridge where every link is
 * capped by a token-bucket qdisc ({@link CappedLinks}: each host's upload and download and the
 * controller's upload, {@code --link-mib-per-s} each): one fresh artifact to every agent at once,
 * first by agents without {@code --relay} (every copy through the controller's link), then by as
 * many agents with {@code --relay} (the gateway's fan-out tree). Reports wall time, controller egress
 * and the agents' CPU time for both. Needs root.
 *
 * <p>Args: {@code --agents 10,30,100 --mib 64 --link-mib-per-s 16 --fan-out 4 --report FILE}.
 */
public final class RelayBenchmark {
    /**
     * One line on the tree the agents' fetches made: its depth, how many fetched from the controller
     * (the root and any that fell back), and why those that were told a relay left it.
     */
    static String tree(int n, Map<String, ArtifactDelivery> deliveries) {
        int depth = 0;
        for (String id : deliveries.keySet()) {
            int d = 0;
            for (String at = id; deliveries.get(at) != null && deliveries.get(at).relay() != null && d <= n; at = deliveries.get(at).relay()) {
                d++;
            }
            depth = Math.max(depth, d);
        }
        long fromController = deliveries.values().stream().filter(d -> d.relay() == null).count();
        List<ArtifactDelivery> leftTheirRelay = deliveries.values().stream().filter(d -> d.relay() != null && d.controllerBytes() > 0).toList();
        Map<String, Long> why = new java.util.TreeMap<>();
        for (ArtifactDelivery d : leftTheirRelay) {
            d.notes().stream().filter(note -> note.startsWith("relay ")).findFirst()
                    .map(note -> note.replaceAll("relay \\S+", "relay R").replaceAll("\\d+", "#"))
                    .ifPresent(note -> why.merge(note, 1L, Long::sum));
        }
        return "- N = " + n + ": depth " + depth + "; " + fromController + " told to fetch from the controller, " + (n - fromController)
                + " from a relay; " + leftTheirRelay.size() + " of those left their relay for the controller"
                + (why.isEmpty() ? "" : " (" + why.entrySet().stream().map(e -> e.getValue() + "× `" + e.getKey() + "`")
                        .collect(java.util.stream.Collectors.joining(", ")) + ")");
    }

    public static void main(String[] args) throws Exception {
        List<Integer> ns = java.util.Arrays.stream(SshBenchmark.stringArg(args, "--agents", "10,30,100").split(","))
                .map(String::trim).map(Integer::valueOf).toList();
        int mib = SshBenchmark.intArg(args, "--mib", 64);
        int link = SshBenchmark.intArg(args, "--link-mib-per-s", 16);
        int fanOut = SshBenchmark.intArg(args, "--fan-out", 4);
        List<String> modes = List.of(SshBenchmark.stringArg(args, "--modes", "direct,relay").split(","));
        Path jar = Path.of(SshBenchmark.stringArg(args, "--jar", "deploy-agent/target/deploy-agent.jar"));
        Path unitFile = Path.of(SshBenchmark.stringArg(args, "--unit", "deploy-agent/systemd/deploykit-agent.service"));
        Path reportFile = Path.of(SshBenchmark.stringArg(args, "--report", "benchmarks/reports/relay.md"));
        AgentFootprintBenchmark.Unit unit = AgentFootprintBenchmark.Unit.read(unitFile);
        Path dir = Report.scratchDir("dk-bench-relay-");
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Report report = new Report("Relay agents: controller egress and wall time");
        report.add("REAL agents: N `deploy-agent.jar` processes per mode and N on this machine (" + Runtime.getRuntime().availableProcessors()
                + " cores, shared with the controller and every agent; no simulated agents), started as the unit starts them, mutual TLS, JDK "
                + Runtime.version() + ". Each agent runs in a network namespace of its own, joined to a bridge by a veth pair; every link is "
                + "capped at " + link + " MiB/s by a token-bucket qdisc (`tc tbf`): each agent's upload and download, and the controller's "
                + "upload (all agents together). Relays reach each other over the bridge, so a relay's children share its upload. Fan-out "
                + fanOut + ". One fresh " + mib + " MiB artifact to all N agents at once, each verifying its SHA-256: first agents "
                + "without `--relay` (every copy through the controller's link), then as many with `--relay`. Agent CPU is the user and "
                + "system time of all N agent processes over the fetch (this machine's 2 cores give at most 2 s per second).");
        report.add("");
        report.add("| N | mode | wall | controller egress | egress / artifact | bytes a relay served (max) | agent CPU | target |");
        report.add("|---|---|---|---|---|---|---|---|");
        Path[] gatewayCert = pki.serverCert("relay-bench-gateway", "IP:" + CappedLinks.CONTROLLER_IP);
        AgentGateway gateway = AgentFixtures.gateway(pki).host(CappedLinks.CONTROLLER_IP).tls(gatewayCert[0], gatewayCert[1])
                .maxNewAgentsPerMinute(1_000_000).relayFanOut(fanOut).build();
        FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
        Map<String, Map<Integer, List<Double>>> wallByMode = new java.util.LinkedHashMap<>();
        Map<String, Map<Integer, List<Double>>> egressByMode = new java.util.LinkedHashMap<>();
        List<String> trees = new ArrayList<>();
        DeployKit kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
        CappedLinks links = CappedLinks.create(ns.stream().mapToInt(Integer::intValue).max().orElse(1), link);
        gateway.start(kit.servers());
        try (kit; links) {
            for (int agents : ns) {
                double directWall = 0;
                for (String mode : modes) {
                    List<AgentFootprintBenchmark.Agent> started = new ArrayList<>();
                    try {
                        for (int i = 0; i < agents; i++) {
                            List<String> extra = mode.equals("relay") ? List.of("--relay", CappedLinks.ip(i) + ":7443") : List.of();
                            String id = mode + "-" + agents + "-" + i;
                            AgentFootprintBenchmark.Agent a = AgentFootprintBenchmark.Agent.start(dir, pki, CappedLinks.on(i),
                                    CappedLinks.CONTROLLER_IP, gateway.port(), id, jar, unit, extra);
                            started.add(a);
                            AgentFixtures.waitUntil(Duration.ofSeconds(120), () -> gateway.connectedAgents().contains(id), id + " to connect");
                        }
                        Path file = AgentFootprintBenchmark.randomFile(dir.resolve("payload"), mib, (mode + agents).hashCode());
                        Artifact artifact = store.put(file);
                        Files.delete(file);
                        long egress0 = gateway.artifactBytesServed();
                        Map<String, Long> relayed0 = gateway.relayBytesServed();
                        long cpu0 = AgentFootprintBenchmark.cpuTicks(started);
                        long t0 = System.nanoTime();
                        ExecutorService pool = Executors.newFixedThreadPool(agents);
                        Map<String, Future<ArtifactDelivery>> all = new java.util.LinkedHashMap<>();
                        for (AgentFootprintBenchmark.Agent a : started) {
                            all.put(a.id(), pool.submit(() -> {
                                try (NodeSession s = gateway.transport().open(Server.of(a.id(), Binding.agent(a.id()), Map.of()))) {
                                    return s.deliver(artifact, store);
                                }
                            }));
                        }
                        Map<String, ArtifactDelivery> deliveries = new java.util.LinkedHashMap<>();
                        for (Map.Entry<String, Future<ArtifactDelivery>> f : all.entrySet()) {
                            deliveries.put(f.getKey(), f.getValue().get());
                        }
                        if (mode.equals("relay")) {
                            trees.add(tree(agents, deliveries));
                        }
                        pool.shutdown();
                        double wall = (System.nanoTime() - t0) / 1e9;
                        double cpu = (AgentFootprintBenchmark.cpuTicks(started) - cpu0) / (double) AgentFootprintBenchmark.CLK_TCK;
                        long egress = gateway.artifactBytesServed() - egress0;
                        long maxRelayed = gateway.relayBytesServed().entrySet().stream()
                                .mapToLong(e -> e.getValue() - relayed0.getOrDefault(e.getKey(), 0L)).max().orElse(0);
                        double ratio = egress / (double) artifact.size();
                        if (mode.equals("direct")) {
                            directWall = wall;
                        }
                        wallByMode.computeIfAbsent(mode, k -> new java.util.LinkedHashMap<>()).put(agents, List.of(wall));
                        egressByMode.computeIfAbsent(mode, k -> new java.util.LinkedHashMap<>()).put(agents, List.of(egress / 1048576.0));
                        report.add(String.format("| %d | %s | %.1f s | %.1f MiB | %.2fx | %.1f MiB | %.0f s | %s |", agents, mode, wall,
                                egress / 1048576.0, ratio, maxRelayed / 1048576.0, cpu, mode.equals("direct") ? "(baseline)" : "egress ≤ 2x: " + (ratio <= 2 ? "met" : "MISSED")
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
        report.add("The relay runs' trees, from what each agent's fetch said (`NodeSession.deliver`):");
        report.add("");
        trees.forEach(report::add);
        report.add("");
        String base = reportFile.getFileName().toString().replaceFirst("\\.md$", "");
        Path timePng = reportFile.resolveSibling(base + "-time.png");
        Path egressPng = reportFile.resolveSibling(base + "-egress.png");
        PeersBenchmark.plot(wallByMode, ns, "Wall time: " + mib + " MiB to N real agents at once, links at " + link
                + " MiB/s, direct vs relays (one 2-core machine)", "s", timePng);
        PeersBenchmark.plot(egressByMode, ns, "Controller egress: " + mib + " MiB to N real agents, direct vs relays", "MiB", egressPng);
        report.add("![wall time against N](" + timePng.getFileName() + ")");
        report.add("");
        report.add("![controller egress against N](" + egressPng.getFileName() + ")");
        report.write(reportFile);
    }
}
