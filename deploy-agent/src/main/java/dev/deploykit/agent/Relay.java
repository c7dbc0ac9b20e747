package dev.deploykit.agent;

import com.google.protobuf.UnsafeByteOperations;
import dev.deploykit.spi.support.DaemonThreads;
import dev.deploykit.spi.support.TlsFiles;
import dev.deploykit.spi.support.TlsTrust;
import dev.deploykit.transport.grpc.proto.ArtifactChunk;
import dev.deploykit.transport.grpc.proto.FetchArtifactRequest;
import dev.deploykit.transport.grpc.proto.RelayGrant;
import dev.deploykit.transport.grpc.proto.RelayServiceGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This agent as a relay ({@code --relay HOST:PORT}): serves artifacts from its cache to the peers the
 * controller named ({@link RelayGrant}), over mutual TLS with the agents' CA; a peer is who its
 * client certificate says, and it gets only the digests granted to it, so the port is no way into
 * anything else. An artifact still arriving is served as far as it has arrived, then as it grows
 * (pipelined: a tree's depth adds latency, not transfer time); one that stops growing for
 * {@link #STALL} ends the call, so the peer goes on from another source. Thread-safe.
 */
final class Relay implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    static final long STALL = TimeUnit.SECONDS.toMillis(20);
    private static final long GRANT_WAIT_MILLIS = 10_000;
    private static final int CHUNK = 256 * 1024;
    private static final Context.Key<String> PEER = Context.key("relay-peer");

    private record Key(String peer, String sha256) {}

    private final String agentId;
    private final Path cacheDir;
    private final Map<Key, RelayGrant> grants = new ConcurrentHashMap<>();
    private final AtomicLong bytesServed = new AtomicLong();
    /** Shared by every peer; null: no cap. */
    private final RateLimit total;
    private final long perPeer;
    private final Map<String, RateLimit> peers = new ConcurrentHashMap<>();
    private final Server server;

    /**
     * Listens on {@code endpoint} with this agent's certificate and key, trusting clients of the CA in
     * {@code caFile}, sending at most {@code totalBytesPerSecond} to all peers together and
     * {@code peerBytesPerSecond} to each (0: no cap).
     */
    Relay(String endpoint, String agentId, Path certFile, Path keyFile, Path caFile, Path cacheDir, long totalBytesPerSecond,
            long peerBytesPerSecond) throws IOException {
        this.agentId = agentId;
        this.cacheDir = cacheDir;
        this.total = totalBytesPerSecond > 0 ? new RateLimit(totalBytesPerSecond) : null;
        this.perPeer = peerBytesPerSecond;
        int colon = endpoint.lastIndexOf(':');
        InetSocketAddress address = new InetSocketAddress(endpoint.substring(0, colon), Integer.parseInt(endpoint.substring(colon + 1)));
        TlsServerCredentials.Builder tls = TlsServerCredentials.newBuilder()
                .keyManager(AgentTls.keyManagerFactory(certFile, keyFile).getKeyManagers())
                .trustManager(new TlsTrust(caFile, "the agents' CA in --ca " + caFile))
                .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
        server = NettyServerBuilder.forAddress(address, tls.build())
                .executor(Executors.newCachedThreadPool(DaemonThreads.factory("relay-")))
                // peers ping a call that has had no bytes for 10 s (RelayClients); the default (5 min) would answer
                // the third such ping with GOAWAY too_many_pings
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .addService(ServerInterceptors.intercept(new Service(), new PeerIdentity()))
                .build().start();
        log.info("relay listening on {} (mutual TLS, serving only what the controller grants)", endpoint);
    }

    /** Lets {@code grant.peer_id} fetch {@code grant.sha256} until the grant expires. */
    void grant(RelayGrant grant) {
        grants.put(new Key(grant.getPeerId(), grant.getSha256()), grant);
        grants.values().removeIf(g -> g.getExpiresAtMillis() < System.currentTimeMillis());
    }

    long bytesServed() {
        return bytesServed.get();
    }

    int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        server.shutdownNow();
    }

    /** The peer's agent id, from its client certificate (the handshake already checked the chain). */
    private static final class PeerIdentity implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            String peer = null;
            SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
            try {
                Certificate[] chain = session == null ? new Certificate[0] : session.getPeerCertificates();
                if (chain.length > 0 && chain[0] instanceof X509Certificate x) {
                    peer = TlsFiles.agentId(x).orElse(null);
                }
            } catch (SSLPeerUnverifiedException e) {
                // refused below
            }
            if (peer == null) {
                call.close(Status.UNAUTHENTICATED.withDescription("a client certificate naming an agent is required"), new Metadata());
                return new ServerCall.Listener<>() {};
            }
            return Contexts.interceptCall(Context.current().withValue(PEER, peer), call, headers, next);
        }
    }

    private final class Service extends RelayServiceGrpc.RelayServiceImplBase {
        @Override
        public void fetchArtifact(FetchArtifactRequest request, StreamObserver<ArtifactChunk> responses) {
            String peer = PEER.get();
            // the grant comes over this agent's own stream from the controller, which sent it before it told the
            // peer to come here: give it a moment to arrive (a loaded node may take seconds)
            RelayGrant grant = grants.get(new Key(peer, request.getSha256()));
            for (int i = 0; i < GRANT_WAIT_MILLIS / 50 && grant == null; i++) {
                try {
                    TimeUnit.MILLISECONDS.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                grant = grants.get(new Key(peer, request.getSha256()));
            }
            if (grant == null || grant.getExpiresAtMillis() < System.currentTimeMillis()) {
                log.warn("refused agent {}: the controller did not name it for artifact {} on this relay", peer, request.getSha256());
                responses.onError(Status.PERMISSION_DENIED.withDescription("relay " + agentId + " was not told to serve artifact "
                        + request.getSha256() + " to agent " + peer).asRuntimeException());
                return;
            }
            ServerCallStreamObserver<ArtifactChunk> out = (ServerCallStreamObserver<ArtifactChunk>) responses;
            long size = grant.getSize();
            long offset = request.getOffset();
            long served = 0;
            try {
                long lastGrowth = System.currentTimeMillis();
                byte[] buf = new byte[CHUNK];
                while (offset < size && !out.isCancelled()) {
                    Path file = Files.exists(cacheDir.resolve(request.getSha256())) ? cacheDir.resolve(request.getSha256())
                            : cacheDir.resolve(request.getSha256() + ".partial");
                    int n = 0;
                    if (Files.exists(file) && out.isReady()) {
                        try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
                            if (in.length() > offset) {
                                in.seek(offset);
                                n = in.read(buf, 0, (int) Math.min(buf.length, Math.min(size, in.length()) - offset));
                            }
                        }
                    }
                    if (n > 0) {
                        if (total != null) {
                            total.acquire(n);
                        }
                        if (perPeer > 0) {
                            peers.computeIfAbsent(peer, p -> new RateLimit(perPeer)).acquire(n);
                        }
                        out.onNext(ArtifactChunk.newBuilder().setData(UnsafeByteOperations.unsafeWrap(buf.clone(), 0, n)).build());
                        offset += n;
                        served += n;
                        lastGrowth = System.currentTimeMillis();
                    } else if (System.currentTimeMillis() - lastGrowth > STALL) {
                        responses.onError(Status.UNAVAILABLE.withDescription("relay " + agentId + " has had no more of artifact "
                                + request.getSha256() + " for " + STALL / 1000 + " s, at byte " + offset).asRuntimeException());
                        return;
                    } else {
                        TimeUnit.MILLISECONDS.sleep(5);
                    }
                }
                if (!out.isCancelled()) {
                    responses.onCompleted();
                }
            } catch (IOException e) {
                responses.onError(Status.UNAVAILABLE.withDescription("relay " + agentId + " cannot read artifact "
                        + request.getSha256() + ": " + e.getMessage()).asRuntimeException());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                responses.onError(Status.CANCELLED.asRuntimeException());
            } finally {
                bytesServed.addAndGet(served);
                log.info("served {} bytes of artifact {} to agent {}", served, request.getSha256(), peer);
            }
        }
    }
}
