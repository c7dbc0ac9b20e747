package dev.deploykit.agent;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's TLS credentials: the controller's CA and the agent's own certificate and PKCS#8 key,
 * read with the JDK alone. (Given key files, Netty reads them through BouncyCastle's JCA provider
 * when it is on the class path, as it is in the agent for enrollment: about 700 more classes and
 * 10 MiB more metaspace in every agent, for nothing the JDK cannot do.)
 */
final class AgentTls {
    private static final Logger log = LoggerFactory.getLogger(AgentTls.class);
    private static final Pattern PKCS8 = Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    private AgentTls() {}

    static ChannelCredentials credentials(AgentConfig config) throws IOException {
        if (config.insecure()) {
            log.warn("connecting WITHOUT TLS (--insecure): the token and all commands cross the network in clear text");
            return InsecureChannelCredentials.create();
        }
        TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder().trustManager(config.caFile().toFile());
        if (config.certFile() != null) {
            tls.keyManager(keyManagerFactory(config.certFile(), config.keyFile()).getKeyManagers());
        }
        return tls.build();
    }

    /** Key managers for the certificate chain in {@code certPem} and the PKCS#8 key in {@code keyPem}. */
    static KeyManagerFactory keyManagerFactory(Path certPem, Path keyPem) throws IOException {
        try {
            List<? extends Certificate> chain;
            try (InputStream in = Files.newInputStream(certPem)) {
                chain = List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(in));
            }
            if (chain.isEmpty()) {
                throw new IOException(certPem + " holds no PEM certificate");
            }
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("agent", privateKey(keyPem), new char[0], chain.toArray(Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, new char[0]);
            return kmf;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use the certificate " + certPem + " with the key " + keyPem + ": " + e.getMessage(), e);
        }
    }

    /** An unencrypted PKCS#8 PEM key ({@code BEGIN PRIVATE KEY}), EC or RSA. */
    static PrivateKey privateKey(Path keyPem) throws IOException {
        Matcher m = PKCS8.matcher(Files.readString(keyPem, StandardCharsets.US_ASCII));
        if (!m.find()) {
            throw new IOException(keyPem + " is not an unencrypted PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----); convert it with "
                    + "openssl pkcs8 -topk8 -nocrypt -in " + keyPem + " -out agent.key");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(m.group(1)));
        for (String algorithm : List.of("EC", "RSA", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // the next algorithm
            }
        }
        throw new IOException(keyPem + " holds no EC, RSA or Ed25519 key the JDK can read");
    }
}
