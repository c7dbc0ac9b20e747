package dev.deploykit.transport.grpc;

import dev.deploykit.Binding;
import dev.deploykit.spi.support.Sha256;
import dev.deploykit.spi.support.TlsFiles;
import java.security.MessageDigest;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Who an agent is, as its client certificate says: the agent id (a SAN URI
 * {@code deploykit:agent:<id>}, else the subject's CN) and the certificate's SHA-256 fingerprint,
 * which the server record remembers so that a different certificate for the same id is refused.
 */
public record AgentIdentity(String agentId, String fingerprint) {
    /** The SAN URI scheme prefix that names an agent in its certificate. */
    public static final String URI_PREFIX = TlsFiles.AGENT_URI_PREFIX;

    /** The identity in {@code cert}; empty when it names no valid agent id. */
    public static Optional<AgentIdentity> of(X509Certificate cert) {
        return TlsFiles.agentId(cert).flatMap(AgentIdentity::valid).map(id -> new AgentIdentity(id, fingerprint(cert)));
    }

    /** Lower-case hex SHA-256 of the certificate's DER encoding, as {@code openssl x509 -fingerprint -sha256} shows it (without colons). */
    public static String fingerprint(X509Certificate cert) {
        try {
            MessageDigest digest = Sha256.newDigest();
            return HexFormat.of().formatHex(digest.digest(cert.getEncoded()));
        } catch (CertificateEncodingException e) {
            throw new IllegalArgumentException("cannot encode certificate " + cert.getSubjectX500Principal(), e);
        }
    }

    private static Optional<String> valid(String id) {
        try {
            return Optional.of(Binding.agent(id).require("agentId"));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
