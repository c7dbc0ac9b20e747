package dev.deploykit.transport.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.HealthCheck;
import dev.deploykit.Outputs;
import dev.deploykit.Requirements;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.Server;
import dev.deploykit.format.script.ScriptBundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Rolling deployments through the SSH transport to three real OpenSSH sshd "hosts" on their own
 * loopback ports, each with its own install root; the third is reached through the first as a
 * ProxyJump bastion.
 */
class SshDeploymentTest {
    static Path dir;
    static SshFixtures.Key hostKey;
    static SshFixtures.Key userKey;
    static final List<SshFixtures.Sshd> hosts = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("dk-ssh-deploy-");
        hostKey = SshFixtures.keygen(dir, "host_ed25519");
        userKey = SshFixtures.keygen(dir, "id_ed25519");
        for (int i = 0; i < 3; i++) {
            hosts.add(SshFixtures.openssh(dir, hostKey, userKey));
        }
    }

    @AfterAll
    static void stop() {
        hosts.forEach(SshFixtures.Sshd::close);
    }

    private static Path root(int i) {
        return dir.resolve("host-" + i);
    }

    private DeployKit kit() throws Exception {
        SshTransport ssh = SshFixtures.transport(dir, userKey, hostKey, hosts.stream().map(SshFixtures.Sshd::port).toList());
        DeployKit kit = DeployKit.builder().transport(ssh).artifactDir(Files.createTempDirectory(dir, "artifacts")).build();
        for (int i = 0; i < 3; i++) {
            SshFixtures.Sshd h = hosts.get(i);
            Map<String, String> attrs = new HashMap<>(Map.of("host", "127.0.0.1", "port", Integer.toString(h.port()),
                    "user", h.user(), "root", root(i).toString()));
            if (i == 2) {
                attrs.put("jump", h.user() + "@127.0.0.1:" + hosts.get(0).port());
            }
            kit.servers().register(Server.of("ssh-" + i, new Binding("ssh", attrs), Map.of("role", "app")));
        }
        return kit;
    }

    @Test
    void rollsABundleOutToThreeSshdHostsWithOutputInTheEvents() throws Exception {
        try (DeployKit kit = kit()) {
            Path file = ScriptBundle.builder("ssh-app", "1.0")
                    .script("install", "mkdir -p \"$DEPLOYKIT_ROOT/etc\"; echo \"installed on $(hostname) as $(id -un)\"; "
                            + "echo \"$DEPLOYKIT_VERSION\" > \"$DEPLOYKIT_ROOT/etc/ssh-app.version\"")
                    .script("health", "test -s \"$DEPLOYKIT_ROOT/etc/ssh-app.version\"")
                    .writeTo(dir.resolve("ssh-app-1.0.tar.gz"));
            kit.packages().publish(file);
            Deployment d = kit.start(DeployPlan.builder().action(Action.install("ssh-app", "1.0")).targetSelector("role=app")
                    .canary(BatchSize.count(1)).batch(BatchSize.count(2)).healthCheck(HealthCheck.ofPackage(1, Duration.ofMillis(100)))
                    .build());
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(2)), d.tasks().toString());
            Map<String, List<String>> output = Outputs.byServer(d, "install");
            for (int i = 0; i < 3; i++) {
                assertEquals("1.0\n", Files.readString(root(i).resolve("etc/ssh-app.version")));
                assertTrue(output.get("ssh-" + i).get(0).startsWith("installed on "), output.toString());
                assertEquals("1.0", kit.servers().get("ssh-" + i).orElseThrow().inventory().get("ssh-app"));
            }
            assertTrue(Files.isRegularFile(root(2).resolve("var/cache/deploykit/sha256")
                    .resolve(kit.packages().get("ssh-app", "1.0").orElseThrow().artifact().sha256())), "artifact cached through the jump host");
            assertEquals("debian", kit.servers().get("ssh-1").orElseThrow().facts().osId());
        }
    }

    @Test
    void runAsUsesSudoOnTheNode() throws Exception {
        Requirements.tool("sudo", "to run commands as another user on the node");
        try (DeployKit kit = kit()) {
            Deployment d = kit.start(DeployPlan.builder()
                    .action(Action.runScripts(ScriptSet.of("whoami", Script.of("id", Command.of("id", "-un").withRunAs("nobody")))))
                    .targetServers("ssh-1").build());
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)), d.tasks().toString());
            List<String> lines = d.events().stream().filter(DeployEvent.NodeOutput.class::isInstance)
                    .map(e -> ((DeployEvent.NodeOutput) e).line()).toList();
            assertEquals(List.of("nobody"), lines);
        }
    }
}
