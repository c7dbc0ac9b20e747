package dev.deploykit.spi.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trust in the CA certificates of one PEM file that says, in plain words, why it refused a peer.
 * Every decision is the JDK's PKIX trust manager's, built from the file the way Netty builds it from
 * a CA file (so host names are checked exactly when the TLS engine asks for it, as gRPC's client
 * does). Only after a refusal does this class look at the peer's chain, and it attaches what it
 * found as a {@link Refusal} to the exception the JDK threw ({@link Throwable#addSuppressed}); the
 * code that sees the handshake fail finds it again in the cause chain with {@link #refusal}.
 *
 * <pre>{@code
 * TlsTrust trust = new TlsTrust(Path.of("ca.crt"), "the CA in --ca ca.crt");
 * TlsChannelCredentials.newBuilder().trustManager(trust)...
 * // when a call fails:
 * TlsTrust.refusal(error).ifPresent(r -> log.error("TLS: {}", r.describe("the controller's certificate at " + address)));
 * }</pre>
 *
 * <p>A subclass may throw another exception for a refusal ({@link #refused}), e.g. one that picks the
 * TLS alert the peer is sent. Thread-safe.
 */
public class TlsTrust extends X509ExtendedTrustManager {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private final X509ExtendedTrustManager jdk;
    private final List<X509Certificate> cas;
    private final String caName;

    /**
     * Trusts the CA certificates in {@code caPem}; {@code caName} names them in messages, as the
     * reader knows them ("the CA in --ca /etc/deploykit/ca.crt").
     */
    public TlsTrust(Path caPem, String caName) {
        this.cas = TlsFiles.certificates(caPem);
        this.caName = caName;
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                store.setCertificateEntry("ca-" + i, cas.get(i));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            this.jdk = extended(factory.getTrustManagers(), caPem);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot trust the CA certificates in " + caPem + ": " + e.getMessage(), e);
        }
    }

    private static X509ExtendedTrustManager extended(TrustManager[] managers, Path caPem) {
        for (TrustManager m : managers) {
            if (m instanceof X509ExtendedTrustManager x) {
                return x;
            }
        }
        throw new IllegalStateException("the JDK made no X509ExtendedTrustManager for " + caPem);
    }

    /** The {@link Refusal} attached to {@code failure} or to one of its causes, if any. */
    public static Optional<Refusal> refusal(Throwable failure) {
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof Refusal r) {
                return Optional.of(r);
            }
            for (Throwable s : t.getSuppressed()) {
                if (s instanceof Refusal r) {
                    return Optional.of(r);
                }
            }
        }
        return Optional.empty();
    }

    /**
     * The exception to throw for a refusal: by default the JDK's own {@code original}, with
     * {@code refusal} attached to it.
     */
    protected CertificateException refused(CertificateException original, Refusal refusal) {
        original.addSuppressed(refusal);
        return original;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        try {
            jdk.checkServerTrusted(chain, authType, engine);
        } catch (CertificateException e) {
            throw refused(e, explain(chain, authType, e, engine == null ? null : hostChecked(engine.getSSLParameters(), engine.getPeerHost())));
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        try {
            jdk.checkServerTrusted(chain, authType, socket);
        } catch (CertificateException e) {
            String host = null;
            if (socket instanceof SSLSocket ssl) {
                SSLSession session = ssl.getHandshakeSession();
                host = hostChecked(ssl.getSSLParameters(), session == null ? null : session.getPeerHost());
            }
            throw refused(e, explain(chain, authType, e, host));
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        try {
            jdk.checkServerTrusted(chain, authType);
        } catch (CertificateException e) {
            throw refused(e, explain(chain, authType, e, null));
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        try {
            jdk.checkClientTrusted(chain, authType, engine);
        } catch (CertificateException e) {
            throw refused(e, explain(chain, null, e, null));
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        try {
            jdk.checkClientTrusted(chain, authType, socket);
        } catch (CertificateException e) {
            throw refused(e, explain(chain, null, e, null));
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        try {
            jdk.checkClientTrusted(chain, authType);
        } catch (CertificateException e) {
            throw refused(e, explain(chain, null, e, null));
        }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return jdk.getAcceptedIssuers();
    }

    /** The host name the JDK checked the certificate against, or null when it checked none. */
    private static String hostChecked(SSLParameters parameters, String peerHost) {
        String algorithm = parameters == null ? null : parameters.getEndpointIdentificationAlgorithm();
        return algorithm == null || algorithm.isEmpty() ? null : peerHost;
    }

    /**
     * Why the JDK refused {@code chain}: first whether one of the CAs signed it at all, then validity
     * dates, then (for a server, when a host was checked) its names; else the JDK's own words.
     * {@code serverAuthType} is null for a client's chain.
     */
    private Refusal explain(X509Certificate[] chain, String serverAuthType, CertificateException e, String host) {
        if (chain == null || chain.length == 0) {
            return new Refusal(Refusal.Reason.OTHER, null, caName, e.getMessage(), null, false);
        }
        X509Certificate leaf = chain[0];
        if (!signedByCa(chain)) {
            boolean sameName = false;
            for (X509Certificate c : chain) {
                sameName |= cas.stream().anyMatch(ca -> ca.getSubjectX500Principal().equals(c.getIssuerX500Principal()));
            }
            return new Refusal(Refusal.Reason.NOT_SIGNED_BY_CA, leaf, caName, null, null, sameName);
        }
        for (X509Certificate c : chain) {
            String which = c == leaf ? "" : "has a CA certificate in its chain (" + c.getSubjectX500Principal().getName() + ") that ";
            try {
                c.checkValidity();
            } catch (CertificateExpiredException expired) {
                return new Refusal(Refusal.Reason.EXPIRED, leaf, caName, which + "expired on " + c.getNotAfter().toInstant(), null, false);
            } catch (CertificateNotYetValidException early) {
                return new Refusal(Refusal.Reason.NOT_YET_VALID, leaf, caName, which + "is not valid before " + c.getNotBefore().toInstant(),
                        null, false);
            }
        }
        if (host != null && serverAuthType != null && !names(leaf, host)) {
            try {
                jdk.checkServerTrusted(chain, serverAuthType); // everything but the host name
                return new Refusal(Refusal.Reason.HOST_NOT_NAMED, leaf, caName, null, host, false);
            } catch (CertificateException other) {
                // refused for another reason too: say the JDK's words below
            }
        }
        return new Refusal(Refusal.Reason.OTHER, leaf, caName, innermost(e), null, false);
    }

    private boolean signedByCa(X509Certificate[] chain) {
        for (X509Certificate c : chain) {
            for (X509Certificate ca : cas) {
                if (c.equals(ca)) {
                    return true;
                }
                if (ca.getSubjectX500Principal().equals(c.getIssuerX500Principal())) {
                    try {
                        c.verify(ca.getPublicKey());
                        return true;
                    } catch (GeneralSecurityException notThisOne) {
                        // same name, another key
                    }
                }
            }
        }
        return false;
    }

    private static String innermost(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    /** The DNS names and IP addresses a certificate names (subject alternative names; without any, its CN). */
    static List<String> namesOf(X509Certificate cert) {
        List<String> names = new ArrayList<>();
        try {
            if (cert.getSubjectAlternativeNames() != null) {
                for (List<?> san : cert.getSubjectAlternativeNames()) {
                    if ((Integer.valueOf(2).equals(san.get(0)) || Integer.valueOf(7).equals(san.get(0))) && san.get(1) instanceof String s) {
                        names.add(s);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // no readable names: fall back to the CN
        }
        if (names.isEmpty()) {
            try {
                for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                    if (rdn.getType().equalsIgnoreCase("CN")) {
                        names.add(rdn.getValue().toString());
                    }
                }
            } catch (InvalidNameException e) {
                // none
            }
        }
        return names;
    }

    /**
     * Whether {@code cert} names {@code host}: an IP address among its IP names, a DNS name among its
     * DNS names (a leading {@code *.} standing for one label). Used only to explain a refusal.
     */
    static boolean names(X509Certificate cert, String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        boolean ip = IPV4.matcher(h).matches() || h.contains(":");
        for (String name : namesOf(cert)) {
            if (ip) {
                try {
                    if ((IPV4.matcher(name).matches() || name.contains(":")) && InetAddress.getByName(name).equals(InetAddress.getByName(h))) {
                        return true;
                    }
                } catch (UnknownHostException e) {
                    // not an address
                }
            } else {
                String n = name.toLowerCase(Locale.ROOT);
                String d = h.toLowerCase(Locale.ROOT);
                String suffix = n.startsWith("*.") ? n.substring(1) : null;
                if (n.equals(d) || (suffix != null && d.endsWith(suffix) && d.indexOf('.') == d.length() - suffix.length() && d.indexOf('.') > 0)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Why a peer's certificate was refused, in words that name the certificate and the CA. Carries no
     * stack trace; attached to the JDK's exception as a suppressed one.
     */
    public static final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;

        /** What was wrong, as far as one can tell from outside the JDK's checks. */
        public enum Reason {
            /** None of the CA certificates signed the chain. */
            NOT_SIGNED_BY_CA,
            /** A certificate of the chain has expired. */
            EXPIRED,
            /** A certificate of the chain is not valid yet. */
            NOT_YET_VALID,
            /** A server's certificate does not name the host the client dialled. */
            HOST_NOT_NAMED,
            /** Another reason: the JDK's message says it. */
            OTHER
        }

        private final Reason reason;
        private final String subject;
        private final String issuer;
        private final List<String> names;
        private final String caName;
        private final String detail;
        private final String host;
        /** NOT_SIGNED_BY_CA: an issuer in the chain has the name of one of the CAs (a CA made again under the same name?). */
        private final boolean sameName;

        Refusal(Reason reason, X509Certificate cert, String caName, String detail, String host, boolean sameName) {
            super(null, null, false, false);
            this.reason = reason;
            this.subject = cert == null ? null : cert.getSubjectX500Principal().getName();
            this.issuer = cert == null ? null : cert.getIssuerX500Principal().getName();
            this.names = cert == null ? List.of() : List.copyOf(namesOf(cert));
            this.caName = caName;
            this.detail = detail;
            this.host = host;
            this.sameName = sameName;
        }

        public Reason reason() {
            return reason;
        }

        /** The subject of the certificate refused (RFC 2253), or null when the peer sent none. */
        public String subject() {
            return subject;
        }

        public String issuer() {
            return issuer;
        }

        /**
         * A sentence about {@code certificate} (a phrase naming it, e.g. "the controller's certificate
         * at host:7443"): "... is not signed by the CA in --ca ca.crt (subject CN=x, issuer CN=y)".
         */
        public String describe(String certificate) {
            String ids = subject == null ? "" : " (subject " + subject + ", issuer " + issuer + ")";
            return switch (reason) {
                case NOT_SIGNED_BY_CA -> certificate + " is not signed by " + caName + (subject == null ? ""
                        : " (subject " + subject + ", issuer " + issuer + (sameName ? ", which has the name of that CA but not its key" : "") + ")");
                case EXPIRED, NOT_YET_VALID -> certificate + " " + detail + ids;
                case HOST_NOT_NAMED -> certificate + " does not name " + host + " (its names: " + String.join(", ", names) + ")";
                case OTHER -> certificate + " was refused: " + detail + ids;
            };
        }

        @Override
        public String getMessage() {
            return describe("the certificate");
        }
    }
}
