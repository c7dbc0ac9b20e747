package dev.deploykit.spi.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A refusal is the JDK's, and TlsTrust names what was wrong; certificates made by the JDK's keytool. */
class TlsTrustTest {
    @TempDir
    Path dir;

    private X509Certificate cert(String alias, String dname, String san) throws Exception {
        Path store = dir.resolve(alias + ".p12");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", dname, "-validity", "2",
                "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "changeit"));
        if (san != null) {
            cmd.addAll(List.of("-ext", "SAN=" + san));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, "changeit".toCharArray());
        }
        return (X509Certificate) ks.getCertificate(alias);
    }

    private Path pem(String name, X509Certificate cert) throws Exception {
        return Files.writeString(dir.resolve(name), "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(cert.getEncoded()) + "\n-----END CERTIFICATE-----\n");
    }

    @Test
    void namesMatchLikeTlsHostNames() throws Exception {
        X509Certificate cert = cert("named", "CN=ignored", "dns:*.example.test,dns:exact.test,ip:10.0.0.1,ip:::1");
        assertEquals(List.of("*.example.test", "exact.test", "10.0.0.1", "0:0:0:0:0:0:0:1"), TlsTrust.namesOf(cert));
        assertTrue(TlsTrust.names(cert, "a.example.test"));
        assertFalse(TlsTrust.names(cert, "a.b.example.test"), "a wildcard stands for one label");
        assertFalse(TlsTrust.names(cert, "example.test"));
        assertTrue(TlsTrust.names(cert, "EXACT.test"));
        assertFalse(TlsTrust.names(cert, "exact.test.evil"));
        assertTrue(TlsTrust.names(cert, "10.0.0.1"));
        assertFalse(TlsTrust.names(cert, "10.0.0.2"));
        assertTrue(TlsTrust.names(cert, "[::1]"));
        assertFalse(TlsTrust.names(cert, "ignored"), "with names, the CN does not count");
        assertEquals(List.of("only-cn.test"), TlsTrust.namesOf(cert("cn", "CN=only-cn.test", null)));
    }

    @Test
    void aChainNoCaSignedIsRefusedByTheJdkAndTheRefusalSaysSo() throws Exception {
        X509Certificate ca = cert("ca", "CN=test-ca", null);
        X509Certificate stranger = cert("stranger", "CN=stranger", "dns:stranger.test");
        TlsTrust trust = new TlsTrust(pem("ca.crt", ca), "the CA in --ca ca.crt");
        CertificateException e = assertThrows(CertificateException.class,
                () -> trust.checkServerTrusted(new X509Certificate[] {stranger}, "ECDHE_ECDSA"));
        TlsTrust.Refusal refusal = TlsTrust.refusal(new RuntimeException("wrapped", e)).orElseThrow();
        assertEquals(TlsTrust.Refusal.Reason.NOT_SIGNED_BY_CA, refusal.reason());
        assertEquals("the certificate at x:1 is not signed by the CA in --ca ca.crt (subject CN=stranger, issuer CN=stranger)",
                refusal.describe("the certificate at x:1"));
    }

    @Test
    void aCaMadeAgainUnderTheSameNameIsToldApart() throws Exception {
        X509Certificate ca = cert("ca", "CN=test-ca", null);
        X509Certificate remade = cert("remade", "CN=test-ca", null);
        TlsTrust trust = new TlsTrust(pem("ca.crt", ca), "the client CA ca.crt");
        CertificateException e = assertThrows(CertificateException.class,
                () -> trust.checkClientTrusted(new X509Certificate[] {remade}, "EC"));
        assertTrue(TlsTrust.refusal(e).orElseThrow().describe("it").endsWith("which has the name of that CA but not its key)"),
                TlsTrust.refusal(e).orElseThrow().describe("it"));
    }
}
