package dev.deploykit.transport.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Command;
import dev.deploykit.Requirements;
import dev.deploykit.TransportException;
import dev.deploykit.spi.NodeSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Public key authentication through a real OpenSSH ssh-agent holding the key, with no key file given. */
class SshAgentAuthTest {
    @TempDir
    Path tmp;
    private Process agent;

    @AfterEach
    void stopAgent() {
        if (agent != null) {
            agent.destroyForcibly();
        }
    }

    /** Starts ssh-agent on a socket of its own and adds {@code key} to it. */
    private Path agentHolding(SshFixtures.Key key) throws Exception {
        Path sshAgent = Requirements.tool("ssh-agent", "to test authentication through an ssh-agent");
        Path sshAdd = Requirements.tool("ssh-add", "to load a key into the test's ssh-agent");
        Path socket = tmp.resolve("agent.sock");
        agent = new ProcessBuilder(sshAgent.toString(), "-D", "-a", socket.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("agent.log").toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!Files.exists(socket) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        ProcessBuilder add = new ProcessBuilder(sshAdd.toString(), key.file().toString()).redirectErrorStream(true);
        add.environment().put("SSH_AUTH_SOCK", socket.toString());
        Process p = add.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "ssh-add: " + out);
        // the transport must not find the key anywhere but in the agent
        Files.delete(key.file());
        return socket;
    }


    @Test
    void theAgentSignsAndTheCommandRuns() throws Exception {
        SshFixtures.Key host = SshFixtures.keygen(tmp, "host");
        SshFixtures.Key user = SshFixtures.keygen(tmp, "user");
        try (SshFixtures.Sshd sshd = SshFixtures.mina(tmp, host, user)) {
            Path socket = agentHolding(user);
            try (SshTransport ssh = SshTransport.builder().knownHosts(SshFixtures.knownHosts(tmp, host, List.of(sshd.port())))
                    .sshAgent(socket).build();
                    NodeSession s = ssh.open(SshFixtures.server("node", sshd, tmp))) {
                StringBuilder out = new StringBuilder();
                assertEquals(0, s.exec(Command.of("echo", "via agent"), (stream, line) -> out.append(line)).exitCode());
                assertEquals("via agent", out.toString());
            }
        }
    }

    @Test
    void anAgentWithoutTheRightKeyIsRefused() throws Exception {
        SshFixtures.Key host = SshFixtures.keygen(tmp, "host");
        SshFixtures.Key user = SshFixtures.keygen(tmp, "user");
        SshFixtures.Key stranger = SshFixtures.keygen(tmp, "stranger");
        try (SshFixtures.Sshd sshd = SshFixtures.mina(tmp, host, user)) {
            Path socket = agentHolding(stranger);
            try (SshTransport ssh = SshTransport.builder().knownHosts(SshFixtures.knownHosts(tmp, host, List.of(sshd.port())))
                    .sshAgent(socket).build()) {
                TransportException e = assertThrows(TransportException.class, () -> ssh.open(SshFixtures.server("node", sshd, tmp)));
                assertTrue(e.getMessage().contains("cannot log in"), e.getMessage());
            }
        }
    }
}
