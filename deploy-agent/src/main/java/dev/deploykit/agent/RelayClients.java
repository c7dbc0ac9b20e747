package dev.deploykit.agent;

import dev.deploykit.spi.support.TlsFiles;
import dev.deploykit.spi.support.TlsTrust;
import dev.deploykit.transport.grpc.proto.ArtifactChunk;
import dev.deploykit.transport.grpc.proto.ArtifactSource;
import dev.deploykit.transport.grpc.proto.FetchArtifactRequest;
import dev.deploykit.transport.grpc.proto.RelayServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Connections to relays, over mutual TLS with this agent's certificate: a relay is trusted when its
 * certificate chains to the agents' CA and names the agent the controller said it is (relays present
 * their agent certificates, which name an agent, not a host).
 */
final class RelayClients {
    private final KeyManagerFactory keys;
    private final Path caFile;

    /** {@code certFile} null: this agent has no certificate, so it cannot use relays and fetches from the controller. */
    RelayClients(Path certFile, Path keyFile, Path caFile) throws IOException {
        this.keys = certFile == null ? null : AgentTls.keyManagerFactory(certFile, keyFile);
        this.caFile = caFile;
    }

    /** One relay's stream of an artifact, and its connection. */
    interface Fetch extends AutoCloseable {
        Iterator<ArtifactChunk> chunks(FetchArtifactRequest request);

        @Override
        void close();
    }

    Fetch open(ArtifactSource source) throws IOException {
        if (keys == null || caFile == null) {
            throw new IOException("this agent has no certificate (mutual TLS), which relays require");
        }
        TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder().keyManager(keys.getKeyManagers())
                .trustManager(new PeerTrust(new TlsTrust(caFile, "the agents' CA in --ca " + caFile), source.getAgentId()));
        ManagedChannel channel = NettyChannelBuilder.forTarget(source.getEndpoint(), tls.build())
                .keepAliveTime(10, TimeUnit.SECONDS).keepAliveTimeout(20, TimeUnit.SECONDS) // a loaded relay may answer late; STALL catches a hung one
                .maxInboundMessageSize(4 * 1024 * 1024).flowControlWindow(8 * 1024 * 1024).build();
        RelayServiceGrpc.RelayServiceBlockingStub stub = RelayServiceGrpc.newBlockingStub(channel);
        return new Fetch() {
            @Override
            public Iterator<ArtifactChunk> chunks(FetchArtifactRequest request) {
                return stub.fetchArtifact(request);
            }

            @Override
            public void close() {
                channel.shutdownNow();
            }
        };
    }

    /** A relay's certificate: an agent certificate of the CA (checked as one), naming {@code expected}. */
    private static final class PeerTrust extends X509ExtendedTrustManager {
        private final TlsTrust ca;
        private final String expected;

        PeerTrust(TlsTrust ca, String expected) {
            this.ca = ca;
            this.expected = expected;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            ca.checkClientTrusted(chain, authType);
            String named = TlsFiles.agentId(chain[0]).orElse(null);
            if (!expected.equals(named)) {
                throw new CertificateException("the relay's certificate names agent " + named + ", not " + expected);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a relay client does not accept connections");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return ca.getAcceptedIssuers();
        }
    }
}
