package dev.deploykit.transport.grpc;

import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates every call before any message is read, and puts who called into the call's
 * {@link Context}: {@link #IDENTITY} (from the client certificate; null in the demo mode without a
 * client CA, where agents name themselves) and {@link #REMOTE}.
 *
 * <ul>
 *   <li>With a client CA, Connect and FetchArtifact need a client certificate naming a valid agent
 *       id, whose fingerprint is not revoked (UNAUTHENTICATED without one, PERMISSION_DENIED for a
 *       revoked one).</li>
 *   <li>With a fleet token, those calls also need {@code authorization: Bearer <token>}, compared in
 *       constant time (UNAUTHENTICATED otherwise).</li>
 *   <li>Enroll needs neither: it carries its own limited-use token, checked by the gateway.</li>
 * </ul>
 */
final class Authenticator implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    static final Context.Key<AgentIdentity> IDENTITY = Context.key("deploykit-agent-identity");
    static final Context.Key<SocketAddress> REMOTE = Context.key("deploykit-agent-remote");
    private static final Logger log = LoggerFactory.getLogger(AgentGateway.class);
    private final byte[] expected;
    private final boolean certificates;
    private final Set<String> revoked;

    /** {@code token} may be null (no fleet token); {@code revoked} is read live. */
    Authenticator(String token, boolean certificates, Set<String> revoked) {
        this.expected = token == null ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        this.certificates = certificates;
        this.revoked = revoked;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        Context context = Context.current().withValue(REMOTE, remote);
        if (call.getMethodDescriptor().getFullMethodName().equals(AgentServiceGrpc.getEnrollMethod().getFullMethodName())) {
            return Contexts.interceptCall(context, call, headers, next);
        }
        if (expected != null) {
            String presented = headers.get(AUTHORIZATION);
            byte[] actual = presented == null ? new byte[0] : presented.getBytes(StandardCharsets.UTF_8);
            if (!MessageDigest.isEqual(expected, actual)) {
                return refuse(call, Status.UNAUTHENTICATED.withDescription("missing or wrong fleet token"));
            }
        }
        if (certificates) {
            Optional<X509Certificate> cert = peerCertificate(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
            if (cert.isEmpty()) {
                log.warn("agent at {} presented no client certificate; agents need --cert/--key or --enroll-token-file",
                        TlsFailures.address(remote));
                return refuse(call, Status.UNAUTHENTICATED.withDescription(
                        "a client certificate is required; an agent without one enrolls first (--enroll-token-file)"));
            }
            Optional<AgentIdentity> identity = AgentIdentity.of(cert.get());
            if (identity.isEmpty()) {
                return refuse(call, Status.PERMISSION_DENIED.withDescription("the client certificate "
                        + cert.get().getSubjectX500Principal() + " names no valid agent id"));
            }
            if (revoked.contains(identity.get().fingerprint())) {
                return refuse(call, Status.PERMISSION_DENIED.withDescription("the certificate of agent " + identity.get().agentId()
                        + " (" + identity.get().fingerprint() + ") is revoked"));
            }
            context = context.withValue(IDENTITY, identity.get());
        }
        return Contexts.interceptCall(context, call, headers, next);
    }

    private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, Status status) {
        call.close(status, new Metadata());
        return new ServerCall.Listener<>() {};
    }

    private static Optional<X509Certificate> peerCertificate(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? Optional.of(x) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }
}
