package dev.deploykit.transport.ssh;

import org.junit.jupiter.api.BeforeAll;

/** The transport contract against MINA's embedded SSH server. */
class MinaSshTransportTest extends SshContractBase {
    @BeforeAll
    static void startServer() throws Exception {
        start("mina", SshFixtures::mina);
    }
}
