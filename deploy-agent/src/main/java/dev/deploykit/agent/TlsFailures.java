package dev.deploykit.agent;

import dev.deploykit.spi.support.TlsFiles;
import dev.deploykit.spi.support.TlsTrust;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/**
 * Says in plain words which side refused a TLS handshake with the controller, and why, from the
 * failure gRPC reports (which itself says only "UNAVAILABLE: io exception"): this agent refused the
 * controller's certificate (the {@link TlsTrust.Refusal} that {@link AgentTls#controllerTrust}
 * attached), or the controller refused this agent's (the TLS alert it sent back). Stateless.
 */
final class TlsFailures {
    private TlsFailures() {}

    /**
     * The message for {@code failure} of a call to the controller at {@code address}, or null when
     * it is not a failed TLS handshake. {@code certFile} is the agent's certificate (null: none);
     * {@code enrolling}: the call was an enrollment, which needs no certificate.
     */
    static String explain(Throwable failure, String address, Path certFile, boolean enrolling) {
        var refusal = TlsTrust.refusal(failure);
        if (refusal.isPresent()) {
            return "TLS: " + refusal.get().describe("the controller's certificate at " + address);
        }
        SSLException ssl = ssl(failure);
        if (ssl == null) {
            return null;
        }
        String alert = alert(ssl);
        if (alert == null) {
            return ssl instanceof SSLHandshakeException
                    ? "TLS: the handshake with the controller at " + address + " failed: " + ssl.getMessage() : null;
        }
        if (enrolling && alert.equals("CERTIFICATE_REQUIRED")) {
            return "TLS: the controller at " + address + " refused the handshake (alert: certificate required): it requires a client "
                    + "certificate on every connection, so it takes no enrollments; enable enrollment on its gateway, or give this "
                    + "agent --cert/--key";
        }
        if (certFile == null) {
            return "TLS: the controller at " + address + " refused the handshake (alert: " + words(alert) + "): it requires a client "
                    + "certificate and this agent presented none; start the agent with --cert/--key or --enroll-token-file";
        }
        String own = "this agent's certificate " + certFile + ids(certFile);
        return switch (alert) {
            case "CERTIFICATE_REQUIRED" -> "TLS: the controller at " + address + " refused the handshake: it requires a client certificate "
                    + "from a CA it trusts, and " + own + " is not from one of the CAs it asks for, so the agent sent none";
            case "UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN", "UNSUPPORTED_CERTIFICATE", "CERTIFICATE_EXPIRED",
                    "CERTIFICATE_REVOKED", "ACCESS_DENIED" -> "TLS: the controller at " + address + " did not accept " + own + ": "
                    + switch (alert) {
                        case "UNKNOWN_CA" -> "it does not trust the CA that signed it";
                        case "CERTIFICATE_EXPIRED" -> "it says the certificate has expired";
                        case "CERTIFICATE_REVOKED" -> "it says the certificate is revoked";
                        default -> "alert " + words(alert);
                    } + "; the controller's log names the reason";
            default -> "TLS: the controller at " + address + " ended the handshake (alert: " + words(alert) + "); the controller's log "
                    + "names the reason (this agent presented " + own + ")";
        };
    }

    /** The first SSLException in the cause chain, or null. */
    private static SSLException ssl(Throwable failure) {
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof SSLException s) {
                return s;
            }
        }
        return null;
    }

    private static final List<String> ALERTS = List.of("CERTIFICATE_REQUIRED", "UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN",
            "UNSUPPORTED_CERTIFICATE", "CERTIFICATE_EXPIRED", "CERTIFICATE_REVOKED", "ACCESS_DENIED", "HANDSHAKE_FAILURE",
            "INTERNAL_ERROR", "PROTOCOL_VERSION", "INSUFFICIENT_SECURITY", "DECRYPT_ERROR", "ILLEGAL_PARAMETER", "DECODE_ERROR");

    /**
     * The TLS alert the peer sent, in upper case ("UNKNOWN_CA"), or null: BoringSSL (what gRPC's
     * Netty uses) says {@code ...:TLSV1_ALERT_UNKNOWN_CA}, the JDK {@code Received fatal alert: unknown_ca}.
     */
    static String alert(SSLException e) {
        String m = String.valueOf(e.getMessage()).toUpperCase(Locale.ROOT);
        for (String a : ALERTS) {
            if (m.contains("_ALERT_" + a) || m.contains("RECEIVED FATAL ALERT: " + a)) {
                return a;
            }
        }
        return null;
    }

    private static String words(String alert) {
        return alert.equals("UNKNOWN_CA") ? "unknown CA" : alert.toLowerCase(Locale.ROOT).replace('_', ' ');
    }

    private static String ids(Path certFile) {
        try {
            X509Certificate cert = TlsFiles.certificates(certFile).get(0);
            return " (subject " + cert.getSubjectX500Principal().getName() + ", issuer " + cert.getIssuerX500Principal().getName() + ")";
        } catch (RuntimeException e) {
            return "";
        }
    }
}
