package dev.deploykit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.transport.ssh.SshFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Console mode with no server: {@code deploykit run} deploys over SSH to three real OpenSSH sshd
 * "hosts" on loopback ports, each with its own install root, named in an inventory file; host keys
 * are checked against a known_hosts file. Needs root (sshd), like the SSH transport's tests.
 */
class CliConsoleTest {
    @TempDir
    static Path dir;
    private static SshFixtures.Key hostKey;
    private static SshFixtures.Key userKey;
    private static final List<SshFixtures.Sshd> hosts = new ArrayList<>();
    private static Path inventory;
    private static Path knownHosts;

    @BeforeAll
    static void startHosts() throws Exception {
        hostKey = SshFixtures.keygen(dir, "host_ed25519");
        userKey = SshFixtures.keygen(dir, "id_ed25519");
        StringBuilder yaml = new StringBuilder("defaults: {user: " + System.getProperty("user.name") + "}\nservers:\n");
        for (int i = 1; i <= 3; i++) {
            SshFixtures.Sshd h = SshFixtures.openssh(dir, hostKey, userKey);
            hosts.add(h);
            yaml.append("  - {id: web-").append(i).append(", host: 127.0.0.1, port: ").append(h.port()).append(", root: ").append(root(i))
                    .append(", labels: {role: web}}\n");
        }
        yaml.append("groups:\n  web: {selector: role=web}\n");
        inventory = Files.writeString(dir.resolve("hosts.yaml"), yaml);
        knownHosts = SshFixtures.knownHosts(dir, hostKey, hosts.stream().map(SshFixtures.Sshd::port).toList());
    }

    @AfterAll
    static void stopHosts() {
        hosts.forEach(SshFixtures.Sshd::close);
    }

    private static Path root(int i) {
        return dir.resolve("host-" + i);
    }

    private static Path bundle(String version, String health) throws Exception {
        return ScriptBundle.builder("app", version)
                .script("install", "mkdir -p \"$DEPLOYKIT_ROOT/etc\"; echo \"$DEPLOYKIT_VERSION\" > \"$DEPLOYKIT_ROOT/etc/app.version\"; "
                        + "echo \"app $DEPLOYKIT_VERSION installed\"")
                .script("health", health)
                .writeTo(dir.resolve("app-" + version + ".tar.gz"));
    }

    private static Path plan(String version, String failurePolicy) throws Exception {
        return Files.writeString(dir.resolve("app-" + version + ".yaml"), "name: app " + version + "\n"
                + "action:\n  install: {package: app, version: \"" + version + "\"}\n"
                + "target:\n  groups: [web]\n"
                + "rollout: {canary: 1, batch: 2}\n"
                + "failurePolicy: " + failurePolicy + "\n"
                + "healthCheck: {retries: 2, interval: 100ms}\n");
    }

    private static CliRun run(Path plan, Path... publish) {
        List<String> args = new ArrayList<>(List.of("run", plan.toString(), "--inventory", inventory.toString(),
                "--known-hosts", knownHosts.toString(), "--identity", userKey.file().toString()));
        for (Path p : publish) {
            args.add("--publish");
            args.add(p.toString());
        }
        return CliRun.of(Map.of(), args);
    }

    @Test
    void deploysOverSshToThreeHostsWithNoServerThenRollsBackAFailedHealthCheckAndExitsThree() throws Exception {
        Path v1 = bundle("1.0", "test -s \"$DEPLOYKIT_ROOT/etc/app.version\"");
        CliRun ok = run(plan("1.0", "{maxFailed: 0}"), v1);
        assertEquals(0, ok.exit(), ok.toString());
        List<String> lines = ok.out().lines().toList();
        assertTrue(lines.get(0).matches("published app 1\\.0 \\(script, \\d+ bytes\\)"), ok.toString());
        assertTrue(lines.contains("batch 0 (canary) started: web-1"), ok.toString());
        assertTrue(lines.contains("batch 1 started: web-2, web-3"), ok.toString());
        for (int i = 1; i <= 3; i++) {
            String node = "web-" + i;
            assertTrue(lines.contains(String.format("  %-8s | app 1.0 installed", node)), ok.toString());
            assertTrue(lines.stream().anyMatch(Pattern.compile("  " + node + " +RUNNING +health-check").asMatchPredicate()), ok.toString());
            assertTrue(lines.stream().anyMatch(Pattern.compile("  " + node + " +SUCCEEDED .*").asMatchPredicate()), ok.toString());
            assertEquals("1.0\n", Files.readString(root(i).resolve("etc/app.version")));
        }
        assertTrue(lines.get(lines.size() - 1).matches("deployment \\S+ SUCCEEDED"), ok.toString());

        // 2.0 fails its health check on the canary: with no failure allowed the canary goes back to 1.0.
        Path v2 = bundle("2.0", "echo 'app 2.0 does not answer' >&2; exit 1");
        CliRun failed = run(plan("2.0", "{maxFailed: 0, rollbackOnFailure: true}"), v1, v2);
        assertEquals(3, failed.exit(), failed.toString());
        List<String> out = failed.out().lines().toList();
        assertTrue(out.contains("  web-1    ! app 2.0 does not answer"), failed.toString());
        assertTrue(out.stream().anyMatch(Pattern.compile("  web-1 +FAILED +health-check .*").asMatchPredicate()), failed.toString());
        assertTrue(out.stream().anyMatch(Pattern.compile("  web-1 +ROLLED_BACK .*").asMatchPredicate()), failed.toString());
        assertTrue(out.get(out.size() - 1).matches("deployment \\S+ ROLLED_BACK: .+"), failed.toString());
        for (String node : List.of("web-2", "web-3")) {
            assertTrue(out.contains(String.format("  %-8s CANCELLED    not dispatched: failure budget exceeded: 1 node(s) failed, at most 0 allowed",
                    node)), "no batch after the failed canary: " + failed);
        }
        for (int i = 1; i <= 3; i++) {
            assertEquals("1.0\n", Files.readString(root(i).resolve("etc/app.version")), "web-" + i + " runs 1.0");
        }
    }

    @Test
    void anUnknownHostKeyIsRefusedAndTheNodeFails() throws Exception {
        Path empty = Files.writeString(dir.resolve("empty_known_hosts"), "");
        Path plan = Files.writeString(dir.resolve("scripts.yaml"), "action:\n  runScripts: {name: hello, scripts: [{name: hi, command: [echo, hi]}]}\n"
                + "target: {servers: [web-1]}\n");
        CliRun run = CliRun.of(Map.of(), List.of("run", plan.toString(), "--inventory", inventory.toString(), "--known-hosts", empty.toString(),
                "--identity", userKey.file().toString()));
        assertEquals(1, run.exit(), run.toString());
        assertTrue(run.out().lines().anyMatch(l -> l.matches("  web-1 +FAILED .*host key.*")), run.toString());
    }
}
