package dev.deploykit.spi.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * PEM certificates and keys for TLS, read with the JDK alone, and the check that a key belongs to
 * its certificate, so that a wrong pair is an error naming both files when a transport starts, not a
 * handshake failure on the other side later. Stateless and thread-safe.
 */
public final class TlsFiles {
    /** The SAN URI scheme prefix that names an agent in its certificate ({@code deploykit:agent:<id>}). */
    public static final String AGENT_URI_PREFIX = "deploykit:agent:";
    private static final Pattern PKCS8 = Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    private TlsFiles() {}

    /** The certificates in a PEM file, the first being the holder's; at least one. */
    public static List<X509Certificate> certificates(Path pem) {
        try (InputStream in = Files.newInputStream(pem)) {
            List<X509Certificate> chain = CertificateFactory.getInstance("X.509").generateCertificates(in).stream()
                    .map(c -> (X509Certificate) c).toList();
            if (chain.isEmpty()) {
                throw new IllegalArgumentException(pem + " holds no PEM certificate");
            }
            return chain;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the certificate " + pem, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(pem + " is not a PEM certificate: " + e.getMessage(), e);
        }
    }

    /** An unencrypted PKCS#8 PEM key ({@code -----BEGIN PRIVATE KEY-----}): EC, RSA or Ed25519. */
    public static PrivateKey pkcs8(Path pem) {
        String text;
        try {
            text = Files.readString(pem, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the key " + pem, e);
        }
        Matcher m = PKCS8.matcher(text);
        if (!m.find()) {
            throw new IllegalArgumentException(pem + " is not an unencrypted PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----); convert it with "
                    + "openssl pkcs8 -topk8 -nocrypt -in " + pem + " -out key.pem");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(m.group(1)));
        for (String algorithm : List.of("EC", "RSA", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // the next algorithm
            }
        }
        throw new IllegalArgumentException(pem + " holds no EC, RSA or Ed25519 key the JDK can read");
    }

    /**
     * Checks that {@code key} belongs to {@code certificate} (signs a random challenge and verifies it
     * with the certificate's public key); the message names both files.
     */
    public static void checkPair(PrivateKey key, X509Certificate certificate, Path keyFile, Path certFile) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> key.getAlgorithm(); // Ed25519
        };
        boolean matches;
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature sign = Signature.getInstance(algorithm);
            sign.initSign(key);
            sign.update(challenge);
            byte[] signature = sign.sign();
            Signature verify = Signature.getInstance(algorithm);
            verify.initVerify(certificate.getPublicKey());
            verify.update(challenge);
            matches = verify.verify(signature);
        } catch (GeneralSecurityException e) {
            matches = false; // e.g. an RSA key with an EC certificate
        }
        if (!matches) {
            throw new IllegalArgumentException("the key " + keyFile + " does not match the certificate " + certFile + " ("
                    + certificate.getSubjectX500Principal().getName() + "): they are not a pair");
        }
    }

    /**
     * The agent id an agent certificate names, by the one rule the gateway and the agent share: a SAN
     * URI {@code deploykit:agent:<id>}, else the subject's CN; empty when it names none. The id is not
     * validated here.
     */
    public static Optional<String> agentId(X509Certificate cert) {
        try {
            if (cert.getSubjectAlternativeNames() != null) {
                for (List<?> san : cert.getSubjectAlternativeNames()) {
                    if (Integer.valueOf(6).equals(san.get(0)) && san.get(1) instanceof String uri && uri.startsWith(AGENT_URI_PREFIX)) {
                        return Optional.of(uri.substring(AGENT_URI_PREFIX.length()));
                    }
                }
            }
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return Optional.of(rdn.getValue().toString());
                }
            }
        } catch (CertificateParsingException | InvalidNameException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
