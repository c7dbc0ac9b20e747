package dev.deploykit.transport.grpc;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The enrollment token, sent by agents as {@code authorization: Bearer <token>} on every call and
 * compared in constant time. A wrong or missing token closes the call with UNAUTHENTICATED before any
 * message is read.
 */
final class TokenAuth implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private final byte[] expected;

    TokenAuth(String token) {
        if (token == null || token.length() < 16) {
            throw new IllegalArgumentException("the enrollment token must be at least 16 characters");
        }
        this.expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String presented = headers.get(AUTHORIZATION);
        byte[] actual = presented == null ? new byte[0] : presented.getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(expected, actual)) {
            call.close(Status.UNAUTHENTICATED.withDescription("missing or wrong enrollment token"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return next.startCall(call, headers);
    }
}
