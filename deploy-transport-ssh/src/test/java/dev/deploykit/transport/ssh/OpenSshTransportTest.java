package dev.deploykit.transport.ssh;

import org.junit.jupiter.api.BeforeAll;

/** The transport contract against a real OpenSSH sshd on a loopback port. */
class OpenSshTransportTest extends SshContractBase {
    @BeforeAll
    static void startServer() throws Exception {
        start("openssh", SshFixtures::openssh);
    }
}
