package dev.deploykit.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.deploykit.Action;
import dev.deploykit.Artifact;
import dev.deploykit.BatchSize;
import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.Server;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.Transport;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.transport.grpc.AgentGateway;
import dev.deploykit.transport.ssh.SshFixtures;
import dev.deploykit.transport.ssh.SshTransport;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;

/**
 * The same job done by the tools users know and by DeployKit, side by side on this machine: ship one
 * fresh {@code --mib} file to N hosts and run {@code sha256sum} on it there. Hosts are N real OpenSSH
 * {@code sshd} on loopback, each with its own account ({@code dkpeer1..N}, created when missing, with
 * {@code /bin/sh} as a lean login shell and its home in the scratch dir), and N real
 * {@code deploy-agent.jar} processes started as the systemd unit starts them. Tools: parallel
 * {@code scp}+{@code ssh} ({@code xargs -P N}), {@code parallel-scp}+{@code parallel-ssh} (Debian
 * {@code pssh}), Ansible ({@code copy} then {@code command}, forks N, pipelining, no compression),
 * and DeployKit over SSH and over agents, each through the SPI ({@code ensureArtifact} + {@code exec})
 * and through a {@code DeployPlan} (a plain {@code .tar} script bundle whose install script runs the
 * same {@code sha256sum}). Every round starts each tool over fresh SSH connections; the agents keep
 * their connection, as they do in production. Median of {@code --rounds}, tools in a rotating order
 * each round, {@code sync} before every timing.
 *
 * <p>Args: {@code --n 10,30 --dk-n 100 --mib 64 --rounds 3 --report benchmarks/REPORT.md
 * --json benchmarks/reports/peers.json --png benchmarks/reports/peers.png}. Needs root, sshd, scp,
 * ssh, xargs, parallel-scp, parallel-ssh, ansible, useradd.
 */
public final class PeersBenchmark {
    static final String SCP = "scp+ssh (xargs -P N)";
    static final String PSSH = "parallel-scp+parallel-ssh";
    static final String ANSIBLE = "ansible (copy+command)";
    static final String DK_SSH_SPI = "DeployKit SSH, SPI";
    static final String DK_SSH_PLAN = "DeployKit SSH, DeployPlan";
    static final String DK_AGENT_SPI = "DeployKit agents, SPI";
    static final String DK_AGENT_PLAN = "DeployKit agents, DeployPlan";
    static final List<String> TOOLS = List.of(SCP, PSSH, ANSIBLE, DK_SSH_SPI, DK_SSH_PLAN, DK_AGENT_SPI, DK_AGENT_PLAN);
    static final List<String> DEPLOYKIT = List.of(DK_SSH_SPI, DK_SSH_PLAN, DK_AGENT_SPI, DK_AGENT_PLAN);

    private static final Path HOMES = Path.of("/var/tmp/dk-bench-peers-homes");
    private final Path dir;
    private final int mib;
    private final SshFixtures.Key hostKey;
    private final SshFixtures.Key userKey;
    private final List<SshFixtures.Sshd> hosts = new ArrayList<>();
    private final List<AgentFootprintBenchmark.Agent> agents = new ArrayList<>();
    private Path knownHosts;
    private Path homes;

    private PeersBenchmark(Path dir, int mib) throws Exception {
        this.dir = dir;
        this.mib = mib;
        this.hostKey = SshFixtures.keygen(dir, "host_ed25519");
        this.userKey = SshFixtures.keygen(dir, "id_ed25519");
    }

    public static void main(String[] args) throws Exception {
        List<Integer> ns = ints(SshBenchmark.stringArg(args, "--n", "10,30"));
        List<Integer> dkOnly = ints(SshBenchmark.stringArg(args, "--dk-n", "100"));
        int mib = SshBenchmark.intArg(args, "--mib", 64);
        int rounds = SshBenchmark.intArg(args, "--rounds", 3);
        Path reportFile = Path.of(SshBenchmark.stringArg(args, "--report", "benchmarks/REPORT.md"));
        Path jsonFile = Path.of(SshBenchmark.stringArg(args, "--json", "benchmarks/reports/peers.json"));
        Path pngFile = Path.of(SshBenchmark.stringArg(args, "--png", "benchmarks/reports/peers.png"));
        Path jar = Path.of(SshBenchmark.stringArg(args, "--jar", "deploy-agent/target/deploy-agent.jar"));
        Path unit = Path.of(SshBenchmark.stringArg(args, "--unit", "deploy-agent/systemd/deploykit-agent.service"));
        int max = IntStream.concat(ns.stream().mapToInt(i -> i), dkOnly.stream().mapToInt(i -> i)).max().orElse(1);
        Path dir = Report.scratchDir("dk-bench-peers-");
        PeersBenchmark bench = new PeersBenchmark(dir, mib);
        // tool -> N -> wall seconds of each round
        Map<String, Map<Integer, List<Double>>> results = new LinkedHashMap<>();
        TOOLS.forEach(t -> results.put(t, new TreeMap<>()));
        AgentGateway gateway = null;
        String failure = null;
        try {
            bench.startHosts(max);
            AgentFixtures.Pki pki = AgentFixtures.pki(dir);
            gateway = AgentFixtures.gateway(pki).maxNewAgentsPerMinute(1_000_000).build();
            try (DeployKit agentKit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("agent-kit")).build()) {
                gateway.start(agentKit.servers());
                AgentFootprintBenchmark.Unit agentUnit = AgentFootprintBenchmark.Unit.read(unit);
                bench.startAgents(Math.min(2, max), pki, gateway, jar, agentUnit);
                List<Integer> all = new ArrayList<>(ns);
                dkOnly.stream().filter(n -> !ns.contains(n)).forEach(all::add);
                Collections.sort(all);
                bench.warmUp(gateway, agentKit);
                for (int n : all) {
                    // no more agents than this N needs: idle agents would take memory and a little CPU from every tool
                    bench.startAgents(n, pki, gateway, jar, agentUnit);
                    List<String> tools = ns.contains(n) ? TOOLS : DEPLOYKIT;
                    for (int round = 1; round <= rounds; round++) {
                        Path payload = randomFile(dir.resolve("payload.bin"), mib, n * 100L + round);
                        String version = "1." + n + "." + round;
                        Path bundle = ScriptBundle.builder("peers-payload", version)
                                .script("install", "sha256sum payload.bin")
                                .file("payload.bin", Files.readAllBytes(payload))
                                .writeTo(dir.resolve("peers-payload-" + version + ".tar"));
                        // rotate the order so that no tool always runs first (or right after the heaviest)
                        List<String> order = new ArrayList<>(tools);
                        Collections.rotate(order, -(round - 1) * 2);
                        for (String tool : order) {
                            String label = tool.replaceAll("[^A-Za-z]+", "-").toLowerCase() + "-" + n + "-" + round;
                            settle();
                            long wall = bench.run(tool, n, payload, bundle, label, gateway, agentKit);
                            results.get(tool).computeIfAbsent(n, k -> new ArrayList<>()).add(wall / 1e9);
                            System.out.printf("N=%d round %d %-32s %6.2f s%n", n, round, tool, wall / 1e9);
                            bench.clean(n);
                        }
                    }
                }
            }
        } catch (Exception | AssertionError e) {
            failure = e.toString();
            e.printStackTrace();
        } finally {
            bench.stop();
            if (gateway != null) {
                gateway.close();
            }
        }
        // what was measured is written even when a later step failed, with the failure in the report
        write(results, ns, mib, rounds, failure, reportFile, jsonFile, pngFile);
        Report.deleteTree(dir);
        if (failure != null) {
            System.exit(1);
        }
    }

    private long run(String tool, int n, Path payload, Path bundle, String label, AgentGateway gateway, DeployKit agentKit)
            throws Exception {
        return switch (tool) {
            case SCP -> scpSsh(n, payload, label);
            case PSSH -> pssh(n, payload, label);
            case ANSIBLE -> ansible(n, payload, label);
            case DK_SSH_SPI -> {
                try (SshTransport ssh = sshTransport()) {
                    yield spi(ssh, IntStream.range(0, n).mapToObj(this::sshServer).toList(), payload);
                }
            }
            case DK_SSH_PLAN -> {
                try (SshTransport ssh = sshTransport();
                        DeployKit kit = DeployKit.builder().transport(ssh).artifactDir(dir.resolve("ssh-kit-" + label)).build()) {
                    List<String> ids = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        Server s = sshServer(i);
                        kit.servers().register(s);
                        ids.add(s.id());
                    }
                    try {
                        yield plan(kit, ids, bundle);
                    } finally {
                        Report.deleteTree(dir.resolve("ssh-kit-" + label));
                    }
                }
            }
            case DK_AGENT_SPI -> spi(gateway.transport(), agents.subList(0, n).stream()
                    .map(a -> Server.of(a.id(), Binding.agent(a.id()), Map.of())).toList(), payload);
            case DK_AGENT_PLAN -> plan(agentKit, agents.subList(0, n).stream().map(AgentFootprintBenchmark.Agent::id).toList(), bundle);
            default -> throw new IllegalArgumentException(tool);
        };
    }

    /** The SPI job: on every node at once, ensure the artifact and run sha256sum on it. */
    private long spi(Transport transport, List<Server> servers, Path payload) throws Exception {
        FileArtifactStore store = new FileArtifactStore(dir.resolve("spi-store"));
        Artifact artifact = store.put(payload);
        ExecutorService pool = Executors.newFixedThreadPool(servers.size());
        try {
            long t0 = System.nanoTime();
            List<Future<?>> all = new ArrayList<>();
            for (Server server : servers) {
                all.add(pool.submit(() -> {
                    try (NodeSession node = transport.open(server)) {
                        String path = node.ensureArtifact(artifact, store);
                        ExecResult r = node.exec(Command.of("sha256sum", path), (stream, line) -> { });
                        if (!r.ok()) {
                            throw new IllegalStateException(server.id() + ": sha256sum exited " + r.exitCode() + ": " + r.stderrTail());
                        }
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
            store.delete(artifact.sha256());
        }
    }

    /** The plan job: publish (not timed), then one batch of all nodes installing the bundle. */
    private static long plan(DeployKit kit, List<String> ids, Path bundle) throws Exception {
        var pkg = kit.packages().publish(bundle);
        DeployPlan plan = DeployPlan.builder().action(Action.install(pkg.name(), pkg.version())).targetServers(ids.toArray(String[]::new))
                .batch(BatchSize.count(ids.size())).concurrency(ids.size()).build();
        long t0 = System.nanoTime();
        Deployment d = kit.start(plan);
        DeploymentStatus end = d.await(Duration.ofMinutes(20));
        long wall = System.nanoTime() - t0;
        if (end != DeploymentStatus.SUCCEEDED) {
            throw new IllegalStateException("plan ended " + end + ": " + d.tasks());
        }
        return wall;
    }

    private long scpSsh(int n, Path payload, String label) throws Exception {
        String opts = "-i " + userKey.file() + " -o UserKnownHostsFile=" + knownHosts + " -o StrictHostKeyChecking=yes -o BatchMode=yes";
        Path lines = Files.write(dir.resolve("xargs-hosts"), IntStream.range(0, n).mapToObj(i -> hosts.get(i).port() + ":" + (i + 1)).toList());
        String job = "p=${1%%:*}; i=${1#*:}; scp -q -P \"$p\" " + opts + " " + payload + " \"dkpeer$i@127.0.0.1:" + label + ".bin\""
                + " && ssh -p \"$p\" " + opts + " \"dkpeer$i@127.0.0.1\" sha256sum " + label + ".bin >/dev/null";
        return time(List.of("sh", "-c", "xargs -P " + n + " -I{} sh -c '" + job + "' sh {} < " + lines), Map.of());
    }

    private long pssh(int n, Path payload, String label) throws Exception {
        Path hostFile = Files.write(dir.resolve("pssh-hosts"), IntStream.range(0, n)
                .mapToObj(i -> "dkpeer" + (i + 1) + "@127.0.0.1:" + hosts.get(i).port()).toList());
        List<String> common = List.of("-h", hostFile.toString(), "-p", Integer.toString(n), "-t", "0", "-O", "UserKnownHostsFile=" + knownHosts,
                "-O", "StrictHostKeyChecking=yes", "-O", "IdentityFile=" + userKey.file());
        long t0 = System.nanoTime();
        List<String> copy = new ArrayList<>(List.of("parallel-scp"));
        copy.addAll(common);
        copy.addAll(List.of(payload.toString(), label + ".bin"));
        time(copy, Map.of());
        List<String> check = new ArrayList<>(List.of("parallel-ssh"));
        check.addAll(common);
        check.addAll(List.of("sha256sum", label + ".bin"));
        time(check, Map.of());
        return System.nanoTime() - t0;
    }

    private long ansible(int n, Path payload, String label) throws Exception {
        List<String> inventory = new ArrayList<>(List.of("[peers]"));
        for (int i = 0; i < n; i++) {
            inventory.add("h" + (i + 1) + " ansible_host=127.0.0.1 ansible_port=" + hosts.get(i).port() + " ansible_user=dkpeer" + (i + 1)
                    + " home=" + home(i));
        }
        inventory.add("[peers:vars]");
        inventory.add("ansible_ssh_private_key_file=" + userKey.file());
        inventory.add("ansible_python_interpreter=/usr/bin/python3");
        Path inv = Files.write(dir.resolve("ansible-inventory"), inventory);
        Map<String, String> env = new LinkedHashMap<>();
        env.put("ANSIBLE_PIPELINING", "True");
        env.put("ANSIBLE_HOST_KEY_CHECKING", "True");
        // Ansible's default ssh_args without -C (compression), with this run's known hosts
        env.put("ANSIBLE_SSH_ARGS", "-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=" + knownHosts);
        // a fresh control path per measurement: no tool starts on another's (or its last round's) connections
        env.put("ANSIBLE_SSH_CONTROL_PATH_DIR", Files.createDirectories(dir.resolve("cp-" + label)).toString());
        env.put("ANSIBLE_LOCAL_TEMP", Files.createDirectories(dir.resolve("ansible-tmp")).toString());
        env.put("ANSIBLE_NOCOLOR", "1");
        env.put("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3");
        long t0 = System.nanoTime();
        time(List.of("ansible", "peers", "-i", inv.toString(), "-f", Integer.toString(n), "-m", "copy", "-a",
                "src=" + payload + " dest={{ home }}/" + label + ".bin"), env);
        time(List.of("ansible", "peers", "-i", inv.toString(), "-f", Integer.toString(n), "-m", "command", "-a",
                "sha256sum {{ home }}/" + label + ".bin"), env);
        long wall = System.nanoTime() - t0;
        // end the control masters (they would linger 60 s)
        new ProcessBuilder("sh", "-c", "for s in " + dir.resolve("cp-" + label) + "/*; do ssh -o ControlPath=\"$s\" -O exit x 2>/dev/null; done")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        return wall;
    }

    private void warmUp(AgentGateway gateway, DeployKit agentKit) throws Exception {
        // JIT and connection warm-up of this JVM's code paths, one small round each, not measured
        Path small = randomFile(dir.resolve("warm.bin"), 1, 1);
        Path bundle = ScriptBundle.builder("peers-payload", "0.1").script("install", "sha256sum payload.bin")
                .file("payload.bin", Files.readAllBytes(small)).writeTo(dir.resolve("warm.tar"));
        for (String tool : TOOLS) {
            run(tool, Math.min(2, agents.size()), small, bundle, "warm-" + TOOLS.indexOf(tool), gateway, agentKit);
        }
        clean(agents.size());
    }

    private void startHosts(int n) throws Exception {
        // sshd reads each account's authorized_keys (in the scratch dir) as that account
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
        // one fixed place, so that an account made by an earlier run already has its home here
        Files.createDirectories(HOMES);
        Files.setPosixFilePermissions(HOMES, PosixFilePermissions.fromString("rwx--x--x"));
        homes = HOMES;
        for (int i = 0; i < n; i++) {
            String login = "dkpeer" + (i + 1);
            Path home = home(i);
            ensureAccount(login, home);
            Files.createDirectories(home);
            exec(List.of("chown", login, home.toString()));
            hosts.add(SshFixtures.openssh(dir, hostKey, userKey, login));
        }
        knownHosts = SshFixtures.knownHosts(dir, hostKey, hosts.stream().map(SshFixtures.Sshd::port).toList());
    }

    private void startAgents(int n, AgentFixtures.Pki pki, AgentGateway gateway, Path jar, AgentFootprintBenchmark.Unit unit) throws Exception {
        // ten at a time: a hundred JVMs starting at once on two cores starve each other (and the agents already idle)
        while (agents.size() < n) {
            List<AgentFootprintBenchmark.Agent> wave = new ArrayList<>();
            for (int i = agents.size(); i < Math.min(n, agents.size() + 10); i++) {
                wave.add(AgentFootprintBenchmark.Agent.start(dir, pki, gateway.port(), "peer-agent-" + (i + 1), jar, unit));
            }
            for (AgentFootprintBenchmark.Agent a : wave) {
                try {
                    AgentFixtures.waitUntil(Duration.ofMinutes(3), () -> gateway.connectedAgents().contains(a.id()), a.id() + " to connect");
                } catch (AssertionError e) {
                    Path log = dir.resolve(a.id()).resolve("agent.log");
                    String tail = Files.exists(log) ? Files.readString(log) : "(no log)";
                    throw new IllegalStateException(a.id() + " did not connect (alive: " + a.process().isAlive() + "): "
                            + tail.substring(Math.max(0, tail.length() - 3000)), e);
                }
            }
            agents.addAll(wave);
        }
    }

    private Path home(int i) {
        return homes.resolve("dkpeer" + (i + 1));
    }

    private SshTransport sshTransport() throws IOException {
        return SshFixtures.builder(dir, userKey, hostKey, hosts.stream().map(SshFixtures.Sshd::port).toList()).build();
    }

    private Server sshServer(int i) {
        return SshFixtures.server("ssh-" + (i + 1), hosts.get(i), home(i).resolve("dk"));
    }

    /** Deletes what the last measurement left on the nodes (caches, unpacked bundles, copies), not timed. */
    private void clean(int n) throws IOException {
        for (int i = 0; i < n; i++) {
            try (var files = Files.list(home(i))) {
                for (Path p : files.toList()) {
                    if (!p.getFileName().toString().startsWith(".")) {
                        Report.deleteTree(p);
                    }
                }
            }
        }
        for (AgentFootprintBenchmark.Agent a : agents) {
            Report.deleteTree(dir.resolve(a.id()).resolve("state/artifacts/sha256"));
            Files.createDirectories(dir.resolve(a.id()).resolve("state/artifacts/sha256"));
            Path bundles = dir.resolve(a.id()).resolve("root/var/lib/deploykit/bundles/peers-payload");
            if (Files.isDirectory(bundles)) {
                try (var versions = Files.list(bundles)) {
                    for (Path v : versions.toList()) {
                        if (!Files.isSymbolicLink(v)) {
                            Report.deleteTree(v);
                        }
                    }
                }
            }
        }
    }

    private void stop() {
        for (AgentFootprintBenchmark.Agent a : agents) {
            a.process().destroy();
        }
        for (AgentFootprintBenchmark.Agent a : agents) {
            try {
                a.process().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        hosts.forEach(SshFixtures.Sshd::close);
        if (homes != null) {
            Report.deleteTree(homes);
        }
    }

    private static long time(List<String> command, Map<String, String> env) throws Exception {
        long t0 = System.nanoTime();
        exec(command, env);
        return System.nanoTime() - t0;
    }

    private static void exec(List<String> command) throws Exception {
        exec(command, Map.of());
    }

    private static void exec(List<String> command, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + p.exitValue() + ":\n"
                    + out.substring(Math.max(0, out.length() - 4000)));
        }
    }

    private static void ensureAccount(String login, Path home) throws Exception {
        Process id = new ProcessBuilder("getent", "passwd", login).redirectErrorStream(true).start();
        String entry = new String(id.getInputStream().readAllBytes()).trim();
        if (id.waitFor() != 0) {
            // password "*": no password login, but not locked ("!"), which sshd without PAM would refuse
            exec(List.of("useradd", "--system", "--no-create-home", "--home-dir", home.toString(), "--shell", "/bin/sh", "--password", "*", login));
        } else if (!entry.contains(":" + home + ":")) {
            exec(List.of("usermod", "--home", home.toString(), "--shell", "/bin/sh", "--password", "*", login));
        }
    }

    private static void settle() throws Exception {
        new ProcessBuilder("sync").start().waitFor();
    }

    private static Path randomFile(Path file, int mib, long seed) throws IOException {
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

    private static List<Integer> ints(String csv) {
        if (csv.isBlank()) {
            return List.of();
        }
        return java.util.Arrays.stream(csv.split(",")).map(String::trim).map(Integer::parseInt).toList();
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    private static void write(Map<String, Map<Integer, List<Double>>> results, List<Integer> ns, int mib, int rounds, String failure,
            Path reportFile, Path jsonFile, Path pngFile) throws IOException {
        Report report = new Report("DeployKit beside the tools users know");
        report.add("The job: one fresh " + mib + " MiB file (random bytes, incompressible) to N hosts at once, then `sha256sum` of it on "
                + "each host. All on this one " + Runtime.getRuntime().availableProcessors() + "-core machine: N REAL OpenSSH `sshd` "
                + "on loopback (one account each, `/bin/sh` login shell) and N REAL `deploy-agent.jar` processes with the systemd unit's "
                + "JVM options; controller, tools, sshd and agents share the same cores and disk. Wall time, median of " + rounds
                + " rounds; tools in a rotating order; `sync` before each timing. Written by `benchmarks/peers.sh` "
                + "(`PeersBenchmark`).");
        report.add("");
        report.add("- **SPI**: `NodeSession.ensureArtifact` (transfer, SHA-256 checked on the node) then `exec sha256sum`.");
        report.add("- **DeployPlan**: publish a plain `.tar` script bundle holding the file (not timed), then one batch of all N "
                + "nodes: query, ensure, install (unpack + `sha256sum` in the install script).");
        report.add("- Each SSH tool (DeployKit's included) connects afresh every round; the agents keep their connection, as in production.");
        report.add("");
        if (failure != null) {
            report.add("**The run stopped early: " + failure + "**; the figures below are what was measured before.");
            report.add("");
        }
        List<Integer> allNs = results.values().stream().flatMap(m -> m.keySet().stream()).distinct().sorted().toList();
        StringBuilder head = new StringBuilder("| tool |");
        StringBuilder rule = new StringBuilder("|---|");
        for (int n : allNs) {
            head.append(" N=").append(n).append(" |");
            rule.append("---|");
        }
        report.add("## Wall time (median, seconds; min-max in brackets)");
        report.add("");
        report.add(head.toString());
        report.add(rule.toString());
        for (var e : results.entrySet()) {
            StringBuilder row = new StringBuilder("| " + e.getKey() + " |");
            for (int n : allNs) {
                List<Double> v = e.getValue().get(n);
                row.append(v == null ? " - |" : String.format(" %.2f (%.2f-%.2f) |", median(v), Collections.min(v), Collections.max(v)));
            }
            report.add(row.toString());
        }
        report.add("");
        report.add("## Ratios within the run (medians)");
        report.add("");
        report.add("Speed is the other tool's wall time over this one's: 2.00x means twice as fast, 0.50x half as fast.");
        report.add("");
        report.add("| N | speed of agents SPI vs scp+ssh (target ≥ 3x) | speed of agents SPI vs DeployKit SSH SPI (target ≥ 1x) "
                + "| SSH: plan / SPI wall (target ≤ 1.3) | agents: plan / SPI wall (target ≤ 1.3) |");
        report.add("|---|---|---|---|---|");
        for (int n : allNs) {
            Double scp = med(results, SCP, n);
            Double sshSpi = med(results, DK_SSH_SPI, n);
            Double agentSpi = med(results, DK_AGENT_SPI, n);
            report.add(String.format("| %d | %s | %s | %s | %s |", n, ratio(scp, agentSpi, "x"), ratio(sshSpi, agentSpi, "x"),
                    ratio(med(results, DK_SSH_PLAN, n), sshSpi, ""), ratio(med(results, DK_AGENT_PLAN, n), agentSpi, "")));
        }
        report.add("");
        report.add("![wall time against N per tool](reports/" + pngFile.getFileName() + ")");
        report.add("");
        report.add("Raw figures: [" + jsonFile.getFileName() + "](reports/" + jsonFile.getFileName() + "). What the figures mean, "
                + "and why the targets missed are missed: [README.md](README.md#side-by-side-with-scp-pssh-and-ansible).");
        report.write(reportFile);

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("date", Instant.now().toString());
        json.put("cores", Runtime.getRuntime().availableProcessors());
        json.put("mib", mib);
        json.put("rounds", rounds);
        json.put("wallSeconds", results);
        json.put("failure", failure);
        Files.createDirectories(jsonFile.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(jsonFile.toFile(), json);
        plot(results, allNs, "Wall time: " + mib + " MiB + sha256sum to N hosts (median), one 2-core machine", "s", pngFile);
    }

    private static Double med(Map<String, Map<Integer, List<Double>>> results, String tool, int n) {
        List<Double> v = results.get(tool).get(n);
        return v == null ? null : median(v);
    }

    private static String ratio(Double a, Double b, String unit) {
        return a == null || b == null ? "-" : String.format("%.2f%s", a / b, unit.isEmpty() ? "" : unit);
    }

    /** A measure against N ({@code unit} on the y axis), one line per tool or mode; each point is the median of its runs. */
    static void plot(Map<String, Map<Integer, List<Double>>> results, List<Integer> ns, String title, String unit, Path pngFile)
            throws IOException {
        int w = 900;
        int h = 560;
        int left = 70;
        int right = 260;
        int top = 40;
        int bottom = 60;
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double maxY = results.values().stream().flatMap(m -> m.values().stream()).mapToDouble(PeersBenchmark::median).max().orElse(1);
        maxY = Math.ceil(maxY * 1.1);
        int plotW = w - left - right;
        int plotH = h - top - bottom;
        g.setColor(Color.DARK_GRAY);
        g.drawLine(left, top + plotH, left + plotW, top + plotH);
        g.drawLine(left, top, left, top + plotH);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int i = 0; i <= 5; i++) {
            double y = maxY * i / 5;
            int py = top + plotH - (int) (plotH * i / 5.0);
            g.setColor(new Color(230, 230, 230));
            g.drawLine(left + 1, py, left + plotW, py);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(maxY < 10 ? "%.1f %s" : "%.0f %s", y, unit), 10, py + 4);
        }
        // N on evenly spaced columns (10, 30, 100 would crowd the left on a linear axis)
        java.util.function.IntUnaryOperator x = n -> left + (int) (plotW * (ns.indexOf(n) + 0.5) / ns.size());
        for (int n : ns) {
            int px = x.applyAsInt(n);
            g.drawString("N=" + n, px - 14, top + plotH + 20);
        }
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, left, 24);
        Color[] colors = {new Color(0x999999), new Color(0x8c564b), new Color(0xe377c2), new Color(0x1f77b4), new Color(0x17becf),
                new Color(0xd62728), new Color(0xff7f0e)};
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        int legendY = top + 10;
        int c = 0;
        for (var e : results.entrySet()) {
            g.setColor(colors[c++ % colors.length]);
            g.setStroke(new BasicStroke(2.5f));
            int lastX = -1;
            int lastY = -1;
            for (var point : e.getValue().entrySet()) {
                int px = x.applyAsInt(point.getKey());
                int py = top + plotH - (int) (plotH * median(point.getValue()) / maxY);
                g.fillOval(px - 4, py - 4, 8, 8);
                if (lastX >= 0) {
                    g.drawLine(lastX, lastY, px, py);
                }
                lastX = px;
                lastY = py;
            }
            g.fillRect(left + plotW + 20, legendY - 8, 14, 8);
            g.setColor(Color.DARK_GRAY);
            g.drawString(e.getKey(), left + plotW + 40, legendY);
            legendY += 20;
        }
        g.dispose();
        Files.createDirectories(pngFile.toAbsolutePath().getParent());
        ImageIO.write(image, "png", pngFile.toFile());
    }
}
