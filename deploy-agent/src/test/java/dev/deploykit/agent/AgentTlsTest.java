package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Requirements;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent reads its certificate and PKCS#8 key with the JDK, and names what it cannot read and how to fix it. */
class AgentTlsTest {
    @TempDir
    Path dir;

    @Test
    void readsThePkcs8KeyAndCertificateOfTheTestPki() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Path[] own = pki.agentCert("a1");
        PrivateKey key = AgentTls.privateKey(own[1]);
        assertEquals("EC", key.getAlgorithm());
        assertEquals(1, AgentTls.keyManagerFactory(own[0], own[1]).getKeyManagers().length);
    }

    @Test
    void aTraditionalKeyIsRefusedWithTheCommandThatConvertsIt() throws Exception {
        Path openssl = Requirements.tool("openssl", "to write a traditional EC key");
        Path key = dir.resolve("legacy.key");
        Process p = new ProcessBuilder(openssl.toString(), "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.toString())
                .redirectErrorStream(true).start();
        assertEquals(0, p.waitFor());
        IOException e = assertThrows(IOException.class, () -> AgentTls.privateKey(key));
        assertTrue(e.getMessage().contains("is not an unencrypted PKCS#8 PEM key") && e.getMessage().contains("openssl pkcs8 -topk8 -nocrypt -in "
                + key), e.getMessage());
    }
}
