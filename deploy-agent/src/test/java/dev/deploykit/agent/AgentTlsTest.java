package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Requirements;
import dev.deploykit.spi.support.TlsFiles;
import dev.deploykit.transport.grpc.AgentGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
        PrivateKey key = TlsFiles.pkcs8(own[1]);
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
        Path cert = AgentFixtures.pki(dir).agentCert("a1")[0];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AgentTls.keyManagerFactory(cert, key));
        assertTrue(e.getMessage().contains("is not an unencrypted PKCS#8 PEM key") && e.getMessage().contains("openssl pkcs8 -topk8 -nocrypt -in "
                + key), e.getMessage());
    }

    @Test
    void anotherAgentsKeyIsRefusedNamingBothFiles() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Path[] a1 = pki.agentCert("a1");
        Path[] a2 = pki.agentCert("a2");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AgentTls.keyManagerFactory(a1[0], a2[1]));
        assertTrue(e.getMessage().contains("the key " + a2[1] + " does not match the certificate " + a1[0]), e.getMessage());
    }

    @Test
    void aGatewayWhoseKeyIsNotItsCertificatesDoesNotBuild() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Path otherKey = pki.agentCert("a1")[1];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AgentGateway.builder()
                .tls(pki.serverCert(), otherKey).clientCa(pki.ca()).build());
        assertTrue(e.getMessage().contains("the key " + otherKey + " does not match the certificate " + pki.serverCert()), e.getMessage());
    }

    @Test
    void anAgentStartedWithAnotherAgentsKeyStopsAndSaysSo() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Path otherKey = pki.agentCert("a2")[1];
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), 1, "a1", dir.resolve("a1"),
                Files.createDirectories(dir.resolve("root")));
        args.set(args.indexOf("--key") + 1, otherKey.toString());
        AgentFixtures.AgentProcess agent = new AgentFixtures.AgentProcess(dir.resolve("a1"), args).start();
        assertTrue(agent.process.waitFor(60, TimeUnit.SECONDS), "the agent stops");
        assertEquals(2, agent.process.exitValue(), agent.logText());
        assertTrue(agent.logText().contains("deploy-agent: the key " + otherKey + " does not match the certificate"), agent.logText());
    }
}
