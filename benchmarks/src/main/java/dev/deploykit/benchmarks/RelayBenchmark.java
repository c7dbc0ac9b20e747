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
        int agents = SshBenchmark.intArg(args, "--agents", 30);
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
        report.add("REAL agents: " + agents + " `deploy-agent.jar` processes per mode on this machine (" + Runtime.getRuntime().availableProcessors()
                + " cores, shared with the controller and every agent), mutual TLS on loopback, JDK " + Runtime.version() + ". Links: the "
                + "controller's is a rate-limited TCP proxy at " + link + " MiB/s (all agents together); each relay sends at most " + link
                + " MiB/s (`--relay-mib-per-s`); downlinks are not capped. Fan-out " + fanOut + ". One fresh " + mib
                + " MiB artifact to all agents at once, each verifying its SHA-256.");
        report.add("");
        report.add("| mode | agents | wall | controller egress | egress / artifact | target |");
        report.add("|---|---|---|---|---|---|");
        AgentGateway gateway = AgentFixtures.gateway(pki).maxNewAgentsPerMinute(1_000_000).relayFanOut(fanOut).build();
        FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
        double directWall = 0;
        DeployKit kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
        gateway.start(kit.servers());
        try (kit; FaultProxy controllerLink = new FaultProxy(gateway.port())) {
            controllerLink.limitDownstream((long) link << 20);
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
                        AgentFootprintBenchmark.Agent a = AgentFootprintBenchmark.Agent.start(dir, pki, controllerLink.port(), mode + "-" + i, jar,
                                unit, extra);
                        started.add(a);
                        AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> gateway.connectedAgents().contains(a.id()), a.id() + " to connect");
                    }
                    Path file = AgentFootprintBenchmark.randomFile(dir.resolve("payload-" + mode), mib, mode.hashCode());
                    Artifact artifact = store.put(file);
                    Files.delete(file);
                    long egress0 = gateway.artifactBytesServed();
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
                    double ratio = egress / (double) artifact.size();
                    if (mode.equals("direct")) {
                        directWall = wall;
                    }
                    report.add(String.format("| %s | %d | %.1f s | %.1f MiB | %.2fx | %s |", mode, agents, wall, egress / 1048576.0, ratio,
                            mode.equals("direct") ? "(baseline)" : "egress ≤ 2x: " + (ratio <= 2 ? "met" : "MISSED")
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
        } finally {
            gateway.close();
        }
        report.add("");
        report.add("Not measured here yet: 100 simulated agents (SimAgents do not relay), a plot of egress and time against N.");
        report.write(reportFile);
    }
}
