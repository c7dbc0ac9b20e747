package dev.deploykit.agent;

import dev.deploykit.spi.support.TlsFiles;
import dev.deploykit.spi.support.TlsTrust;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's TLS credentials: the controller's CA and the agent's own certificate and PKCS#8 key,
 * read with the JDK alone ({@link TlsFiles}) and checked to be a pair. (Given key files, Netty reads
 * them through BouncyCastle's JCA provider when it is on the class path, as it is in the agent for
 * enrollment: about 770 more classes in every agent, for nothing the JDK cannot do.) The controller
 * is trusted through {@link TlsTrust}, so that a refusal can say why.
 */
final class AgentTls {
    private static final Logger log = LoggerFactory.getLogger(AgentTls.class);

    private AgentTls() {}

    static ChannelCredentials credentials(AgentConfig config) throws IOException {
        if (config.insecure()) {
            log.warn("connecting WITHOUT TLS (--insecure): the token and all commands cross the network in clear text");
            return InsecureChannelCredentials.create();
        }
        TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder().trustManager(controllerTrust(config.caFile()));
        if (config.certFile() != null) {
            tls.keyManager(keyManagerFactory(config.certFile(), config.keyFile()).getKeyManagers());
        }
        return tls.build();
    }

    /**
     * Trust in the controller's certificate: the CA in {@code --ca}, exactly as strict as gRPC's own
     * trust in that file (host name included), and saying why it refused (see {@link TlsFailures}).
     */
    static TlsTrust controllerTrust(Path caFile) {
        return new TlsTrust(caFile, "the CA in --ca " + caFile);
    }

    /** Key managers for the certificate chain in {@code certPem} and the PKCS#8 key in {@code keyPem}, once checked to be a pair. */
    static KeyManagerFactory keyManagerFactory(Path certPem, Path keyPem) throws IOException {
        List<X509Certificate> chain = TlsFiles.certificates(certPem);
        PrivateKey key = TlsFiles.pkcs8(keyPem);
        TlsFiles.checkPair(key, chain.get(0), keyPem, certPem);
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("agent", key, new char[0], chain.toArray(Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, new char[0]);
            return kmf;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use the certificate " + certPem + " with the key " + keyPem + ": " + e.getMessage(), e);
        }
    }
}
