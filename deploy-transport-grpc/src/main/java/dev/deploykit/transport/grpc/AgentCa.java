package dev.deploykit.transport.grpc;

import dev.deploykit.Binding;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * The certificate authority that signs agent certificates at enrollment: each certificate names one
 * agent (CN and SAN URI {@code deploykit:agent:<id>}), is for TLS client authentication only, and is
 * valid for {@link #validity()}. The gateway's {@link AgentGateway.Builder#clientCa(Path)} must trust
 * this CA's certificate.
 *
 * <pre>{@code
 * AgentCa ca = AgentCa.load(Path.of("/etc/deploykit/agents-ca.crt"), Path.of("/etc/deploykit/agents-ca.key"));
 * }</pre>
 *
 * <p>Thread-safe. Holds the CA's private key in memory: keep its file readable by the controller only.
 */
public final class AgentCa {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final X509Certificate cert;
    private final PrivateKey key;
    private final Duration validity;

    private AgentCa(X509Certificate cert, PrivateKey key, Duration validity) {
        this.cert = cert;
        this.key = key;
        this.validity = validity;
    }

    /** Loads the CA certificate and its private key (PEM: PKCS#8, or a traditional EC/RSA key). Certificates last 365 days. */
    public static AgentCa load(Path certPem, Path keyPem) {
        try {
            return new AgentCa(certificate(Files.readString(certPem, StandardCharsets.UTF_8)),
                    privateKey(Files.readString(keyPem, StandardCharsets.UTF_8)), Duration.ofDays(365));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the agent CA from " + certPem + " and " + keyPem, e);
        }
    }

    /** The same CA issuing certificates valid for {@code validity}. */
    public AgentCa withValidity(Duration validity) {
        if (validity.isNegative() || validity.isZero()) {
            throw new IllegalArgumentException("certificate validity must be positive, but was " + validity);
        }
        return new AgentCa(cert, key, validity);
    }

    public Duration validity() {
        return validity;
    }

    public X509Certificate certificate() {
        return cert;
    }

    /**
     * Signs a certificate for {@code agentId} over the key in {@code csrPem}, after checking the CSR's
     * signature (the requester holds that key). What the CSR asks for besides the key is ignored: the
     * id comes from the caller's enrollment decision.
     */
    public X509Certificate sign(String agentId, String csrPem) {
        JcaPKCS10CertificationRequest csr;
        try (PEMParser parser = new PEMParser(new StringReader(csrPem))) {
            Object o = parser.readObject();
            if (!(o instanceof org.bouncycastle.pkcs.PKCS10CertificationRequest request)) {
                throw new IllegalArgumentException("not a PEM certificate signing request");
            }
            csr = new JcaPKCS10CertificationRequest(request);
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(csr.getPublicKey()))) {
                throw new IllegalArgumentException("the CSR's signature does not match its key");
            }
            return issue(agentId, csr.getPublicKey());
        } catch (IOException | GeneralSecurityException | OperatorCreationException | PKCSException e) {
            throw new IllegalArgumentException("cannot read the CSR: " + e.getMessage(), e);
        }
    }

    /** A certificate for {@code agentId} over {@code publicKey}. */
    public X509Certificate issue(String agentId, PublicKey publicKey) {
        String id = Binding.agent(agentId).require("agentId");
        Instant now = Instant.now();
        try {
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(cert, new BigInteger(127, RANDOM),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), new X500Principal("CN=" + id), publicKey);
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, AgentIdentity.URI_PREFIX + id)));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(cert));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(publicKey));
            String algorithm = key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(algorithm).build(key)));
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot sign a certificate for agent " + id + ": " + e.getMessage(), e);
        }
    }

    /** {@code cert} as PEM text. */
    public static String pem(X509Certificate cert) {
        try {
            return pem("CERTIFICATE", cert.getEncoded());
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** {@code key} as PKCS#8 PEM text (what gRPC's TLS key managers read). */
    public static String pem(PrivateKey key) {
        return pem("PRIVATE KEY", key.getEncoded());
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** Parses a PEM certificate. */
    public static X509Certificate certificate(String pem) {
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            if (parser.readObject() instanceof X509CertificateHolder holder) {
                return new JcaX509CertificateConverter().getCertificate(holder);
            }
            throw new IllegalArgumentException("not a PEM certificate");
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot read the certificate: " + e.getMessage(), e);
        }
    }

    /** Reads an unencrypted PEM private key: PKCS#8, or a traditional EC or RSA key. */
    public static PrivateKey privateKey(String pem) {
        try (Reader in = new StringReader(pem); PEMParser parser = new PEMParser(in)) {
            Object o = parser.readObject();
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (o instanceof PrivateKeyInfo info) {
                return converter.getPrivateKey(info);
            }
            if (o instanceof PEMKeyPair pair) {
                return converter.getKeyPair(pair).getPrivate();
            }
            throw new IllegalArgumentException("not an unencrypted PEM private key");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the private key: " + e.getMessage(), e);
        }
    }
}
