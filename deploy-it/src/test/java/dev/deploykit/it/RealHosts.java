package dev.deploykit.it;

import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.Requirements;
import dev.deploykit.Server;
import dev.deploykit.agent.AgentFixtures;
import dev.deploykit.testbed.TestBed;
import dev.deploykit.transport.grpc.AgentGateway;
import dev.deploykit.transport.ssh.SshFixtures;
import dev.deploykit.transport.ssh.SshTransport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A controller for test-bed hosts as production has them: an agent gateway on the bridge address
 * {@code 10.78.0.1} (a certificate naming that address), agents installed from the agent's own .deb
 * with {@code dpkg -i} on a host's {@code /} and started with the command line of its systemd unit,
 * and hosts reached over SSH as a non-root account with {@code sudo=true}. One {@link DeployKit} has
 * both transports. Close it to stop the agents, the gateway and the kit.
 */
final class RealHosts implements AutoCloseable {
    static final String BRIDGE = "10.78.0.1";
    private static final String UNIT = "/lib/systemd/system/deploykit-agent.service";

    final Path dir;
    final AgentFixtures.Pki pki;
    final AgentGateway gateway;
    final DeployKit kit;
    private final SshFixtures.Key userKey;
    private final Path knownHosts;
    private final Map<String, Process> agents = new LinkedHashMap<>();

    private RealHosts(Path dir, AgentFixtures.Pki pki, AgentGateway gateway, DeployKit kit, SshFixtures.Key userKey, Path knownHosts) {
        this.dir = dir;
        this.pki = pki;
        this.gateway = gateway;
        this.kit = kit;
        this.userKey = userKey;
        this.knownHosts = knownHosts;
    }

    /**
     * A started gateway on {@link #BRIDGE} and a kit on it and on SSH. {@code sshHosts} are the hosts
     * that will be reached over SSH (their host keys are made now, so the known_hosts file is
     * complete before the transport reads it).
     */
    static RealHosts start(Path dir, List<TestBed.Host> sshHosts) throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(Files.createDirectories(dir.resolve("pki")));
        Path[] serverCert = pki.serverCert("gateway-bridge", "IP:" + BRIDGE);
        AgentGateway gateway = AgentFixtures.fastHeartbeats(AgentFixtures.certificateGateway(pki).host(BRIDGE)
                .tls(serverCert[0], serverCert[1])).reconnectGrace(Duration.ofMinutes(2)).build();
        SshFixtures.Key userKey = SshFixtures.keygen(dir, "id_ed25519");
        List<String> known = new ArrayList<>();
        for (TestBed.Host h : sshHosts) {
            known.add(h.ip() + " " + sshd(h, userKey).replaceFirst("\\s+\\S+$", ""));
        }
        Path knownHosts = Files.write(dir.resolve("known_hosts"), known);
        SshTransport ssh = SshTransport.builder().knownHosts(knownHosts).identity(userKey.file())
                .connectRetries(3, Duration.ofMillis(500)).build();
        DeployKit kit = DeployKit.builder().transport(gateway.transport()).transport(ssh)
                .liveness(AgentFixtures.FAST_LIVENESS).inventoryPollInterval(Duration.ofSeconds(2)).artifactDir(dir.resolve("artifacts")).build();
        gateway.start(kit.servers());
        return new RealHosts(dir, pki, gateway, kit, userKey, knownHosts);
    }

    /**
     * On {@code host}: an account {@code deploy} that may run anything as root through
     * {@code sudo -n}, and sshd on port 22 letting it in with the test's key; returns the host key line.
     */
    private static String sshd(TestBed.Host host, SshFixtures.Key userKey) throws Exception {
        host.check("sh", "-c", "id deploy >/dev/null 2>&1 || useradd -m -s /bin/sh deploy; usermod -p '*' deploy");
        host.write("/etc/sudoers.d/deploy", "deploy ALL=(root) NOPASSWD: ALL\n");
        host.check("chmod", "0440", "/etc/sudoers.d/deploy");
        return host.startSshd(userKey.publicLine());
    }

    /** Registers {@code host}, reached over SSH as {@code deploy} with {@code sudo=true}, labelled {@code labels}. */
    void registerSsh(TestBed.Host host, Map<String, String> labels) {
        kit.servers().register(Server.of(host.name(), new Binding("ssh", Map.of("host", host.ip(), "port", "22", "user", "deploy",
                "sudo", "true")), labels));
    }

    /**
     * Installs the agent's .deb on {@code host}'s {@code /} with {@code dpkg -i}, gives it its own
     * certificate (id: the host's name), a config naming this gateway and {@code label}, and starts
     * it as its unit would; returns once it is connected.
     */
    void installAgent(TestBed.Host host, String label) throws Exception {
        Path deb = agentDeb();
        host.copyIn(deb, "/var/tmp/" + deb.getFileName());
        host.check("dpkg", "-i", "/var/tmp/" + deb.getFileName());
        Path[] cert = pki.agentCert(host.name());
        host.copyIn(pki.ca(), "/etc/deploykit/agents-ca.crt");
        host.copyIn(cert[0], "/etc/deploykit/agent.crt");
        host.copyIn(cert[1], "/etc/deploykit/agent.key");
        host.check("chmod", "0600", "/etc/deploykit/agent.key");
        host.write("/etc/deploykit/agent.conf", String.join("\n", "controller=" + BRIDGE + ":" + gateway.port(),
                "ca=/etc/deploykit/agents-ca.crt", "cert=/etc/deploykit/agent.crt", "key=/etc/deploykit/agent.key",
                "state-dir=/var/lib/deploykit-agent", "label=" + label, ""));
        startAgent(host);
        AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> gateway.connectedAgents().contains(host.name()),
                host.name() + "'s agent to connect (log: " + log(host) + ")");
    }

    /** Starts the installed agent on {@code host} with its unit's environment and ExecStart. */
    void startAgent(TestBed.Host host) throws Exception {
        List<String> argv = new ArrayList<>(List.of("env"));
        String unit = host.check("cat", UNIT);
        for (String line : unit.split("\n")) {
            if (line.startsWith("Environment=")) {
                argv.add(line.substring("Environment=".length()));
            }
        }
        String exec = unit.lines().filter(l -> l.startsWith("ExecStart=")).findFirst()
                .orElseThrow(() -> new AssertionError("the installed unit has no ExecStart")).substring("ExecStart=".length());
        argv.addAll(List.of(exec.trim().split("\\s+")));
        agents.put(host.name(), host.start(log(host), argv.toArray(String[]::new)));
    }

    /** kill -9 of {@code host}'s agent: its steps and services live on. */
    void killAgent(TestBed.Host host) throws InterruptedException {
        Process p = agents.remove(host.name());
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
    }

    /** The pid of {@code host}'s running agent. */
    long agentPid(TestBed.Host host) {
        return agents.get(host.name()).pid();
    }

    Path log(TestBed.Host host) {
        return dir.resolve("agent-" + host.name() + ".log");
    }

    /** The agent's .deb that deploy-agent's package phase made. */
    static Path agentDeb() throws IOException {
        Path target = Path.of("..", "deploy-agent", "target");
        if (Files.isDirectory(target)) {
            try (Stream<Path> files = Files.list(target)) {
                var deb = files.filter(f -> f.getFileName().toString().matches("deploykit-agent_.*_all\\.deb")).findFirst();
                if (deb.isPresent()) {
                    return deb.get().toAbsolutePath();
                }
            }
        }
        throw new AssertionError("no deploykit-agent_*_all.deb in " + target.toAbsolutePath() + ": run 'mvn verify' (deploy-agent's"
                + " package phase makes it) rather than this module alone");
    }

    /** This machine's {@code dpkg -l}, to show that nothing here touched it. */
    static String machinePackages() throws Exception {
        Path dpkgQuery = Requirements.tool("dpkg-query", "to list this machine's packages");
        Process p = new ProcessBuilder(dpkgQuery.toString(), "-W", "-f", "${Package} ${Version} ${db:Status-Status}\n")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return out;
    }

    @Override
    public void close() {
        agents.values().forEach(p -> {
            p.destroyForcibly();
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        kit.close();
        gateway.close();
    }
}
