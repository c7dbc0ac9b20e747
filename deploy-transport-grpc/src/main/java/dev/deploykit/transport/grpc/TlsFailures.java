package dev.deploykit.transport.grpc;

import dev.deploykit.spi.support.TlsTrust;
import io.grpc.ServerCredentials;
import io.grpc.internal.ObjectPool;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.OpenSsl;
import io.grpc.netty.shaded.io.netty.handler.ssl.OpenSslCertificateException;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.internal.tcnative.CertificateVerifier;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the gateway logs when an agent's TLS handshake fails: which side refused and why, naming the
 * agent's address (gRPC itself logs nothing above FINE, and without the address). Two parts:
 *
 * <ul>
 *   <li>{@link #clientTrust}: trust in the client CA, as strict as gRPC's own for the same file,
 *       that explains a refusal ({@link TlsTrust}) and sends the agent the TLS alert "unknown CA"
 *       for a certificate no client CA signed (BoringSSL would send "internal error"), so the
 *       agent too can say that its certificate was not accepted;</li>
 *   <li>{@link #watched}: the TLS server credentials, unchanged, with a look at the outcome of each
 *       handshake. This uses grpc-netty's {@code @Internal} negotiator API, the one hook that sees a
 *       failed handshake together with the connection's address; a gRPC upgrade that changes it
 *       fails {@code AgentTlsFailuresTest}.</li>
 * </ul>
 *
 * Stateless and thread-safe.
 */
final class TlsFailures {
    private static final Logger log = LoggerFactory.getLogger(AgentGateway.class);
    /** A TLS alert the peer sent: BoringSSL says {@code ...:TLSV1_ALERT_UNKNOWN_CA}, the JDK {@code Received fatal alert: unknown_ca}. */
    private static final Pattern ALERT = Pattern.compile("(?:_ALERT_|RECEIVED FATAL ALERT: )([A-Z_]+)");

    private TlsFailures() {}

    /** Trust in the agents' certificates: the CA certificates in {@code clientCa}. */
    static TlsTrust clientTrust(Path clientCa) {
        return new TlsTrust(clientCa, "the gateway's client CA " + clientCa) {
            @Override
            protected CertificateException refused(CertificateException original, Refusal refusal) {
                CertificateException thrown = super.refused(original, refusal);
                if (refusal.reason() == Refusal.Reason.NOT_SIGNED_BY_CA && OpenSsl.isAvailable()) {
                    // the same refusal; only the alert the agent gets changes
                    return new OpenSslCertificateException(original.getMessage(), original,
                            CertificateVerifier.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
                }
                return thrown;
            }
        };
    }

    /**
     * {@code tls} with every failed handshake logged by {@link #explain}. {@code certChain} is the
     * gateway's certificate and {@code clientCa} its client CA (null: none), named in the messages.
     */
    static ServerCredentials watched(ServerCredentials tls, Path certChain, Path clientCa) {
        InternalProtocolNegotiator.ServerFactory inner = InternalNettyServerCredentials.toNegotiator(tls);
        return InternalNettyServerCredentials.create(new InternalProtocolNegotiator.ServerFactory() {
            @Override
            public InternalProtocolNegotiator.ProtocolNegotiator newNegotiator(ObjectPool<? extends Executor> offloadExecutorPool) {
                InternalProtocolNegotiator.ProtocolNegotiator negotiator = inner.newNegotiator(offloadExecutorPool);
                return new InternalProtocolNegotiator.ProtocolNegotiator() {
                    @Override
                    public AsciiString scheme() {
                        return negotiator.scheme();
                    }

                    @Override
                    public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
                        return new Watch(negotiator.newHandler(grpcHandler), certChain, clientCa);
                    }

                    @Override
                    public void close() {
                        negotiator.close();
                    }
                };
            }
        });
    }

    /**
     * Stands in front of gRPC's TLS handlers until they have added Netty's SslHandler (when the
     * connection is active), then listens for the end of its handshake and steps out of the pipeline.
     */
    private static final class Watch extends ChannelInboundHandlerAdapter {
        private final ChannelHandler tls;
        private final Path certChain;
        private final Path clientCa;

        Watch(ChannelHandler tls, Path certChain, Path clientCa) {
            this.tls = tls;
            this.certChain = certChain;
            this.clientCa = clientCa;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.pipeline().addAfter(ctx.name(), null, tls);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.fireChannelActive();
            look(ctx);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            ctx.fireUserEventTriggered(evt);
            look(ctx);
        }

        private void look(ChannelHandlerContext ctx) {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (ssl == null || ctx.isRemoved()) {
                return;
            }
            SocketAddress remote = ctx.channel().remoteAddress();
            ssl.handshakeFuture().addListener(done -> {
                if (!done.isSuccess()) {
                    String message = explain(done.cause(), address(remote), certChain, clientCa);
                    if (message != null) {
                        log.warn(message);
                    } else {
                        log.debug("TLS handshake with {} failed: {}", address(remote), done.cause().toString());
                    }
                }
            });
            ctx.pipeline().remove(this);
        }
    }

    /**
     * The warning for a failed handshake with the agent at {@code address}, or null when it is not
     * about certificates (a port scan, a health check, a connection that closed early).
     */
    static String explain(Throwable failure, String address, Path certChain, Path clientCa) {
        var refusal = TlsTrust.refusal(failure);
        if (refusal.isPresent()) {
            return "TLS: " + refusal.get().describe("agent at " + address + " presented a certificate that");
        }
        SSLException ssl = null;
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof SSLException s) {
                ssl = s;
                break;
            }
        }
        if (ssl == null) {
            return null;
        }
        String m = String.valueOf(ssl.getMessage()).toUpperCase(Locale.ROOT);
        // BoringSSL: PEER_DID_NOT_RETURN_A_CERTIFICATE; the JDK: "Empty client certificate chain"
        if (m.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") || m.contains("EMPTY CLIENT CERTIFICATE CHAIN")) {
            return "TLS: agent at " + address + " presented no client certificate; agents need --cert/--key or --enroll-token-file "
                    + "(an agent also sends none when its certificate is not from a CA in the gateway's client CA " + clientCa + ")";
        }
        Matcher alert = ALERT.matcher(m);
        if (alert.find()) {
            return "TLS: agent at " + address + " ended the handshake (alert: " + alert.group(1).toLowerCase(Locale.ROOT).replace('_', ' ')
                    + "), most likely refusing the gateway's certificate " + certChain + "; the agent's log says why (its --ca must "
                    + "hold the CA that signed it, and the certificate must name the host the agent dials)";
        }
        return null;
    }

    /** {@code 127.0.0.1:54321}. */
    static String address(SocketAddress remote) {
        return remote instanceof InetSocketAddress i && i.getAddress() != null
                ? i.getAddress().getHostAddress() + ":" + i.getPort() : String.valueOf(remote);
    }
}
