package dev.deploykit.agent;

import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.EnrollRequest;
import dev.deploykit.transport.grpc.proto.EnrollResponse;
import io.github.resilience4j.core.IntervalFunction;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.StringWriter;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gets this agent its own certificate the first time it starts: makes an EC P-256 key in the state
 * dir (0600, never sent anywhere), sends a CSR (kept as {@code agent.csr} until it is signed) with the enrollment token over TLS (verifying the
 * controller with {@code --ca}), and keeps the signed certificate and the id the controller chose
 * ({@code agent.crt}, {@code agent-id}). While an operator has not approved it yet, it asks again
 * with backoff. Later starts find the certificate and skip all of this.
 */
final class Enroller {
    private static final Logger log = LoggerFactory.getLogger(Enroller.class);
    static final String KEY = "agent.key";
    static final String CERT = "agent.crt";

    private Enroller() {}

    /** The config with {@code certFile}/{@code keyFile} set to this agent's own, enrolling first if needed. */
    static AgentConfig ensureCertificate(AgentConfig config, String requestedId) throws IOException, InterruptedException {
        Path key = config.stateDir().resolve(KEY);
        Path cert = config.stateDir().resolve(CERT);
        Path csr = config.stateDir().resolve("agent.csr");
        if (!Files.exists(cert)) {
            // a restart while an enrollment is pending asks again with the same key and CSR
            if (!Files.exists(key) || !Files.exists(csr)) {
                Files.writeString(csr, csr(requestedId, newKey(key)));
            }
            String token = Files.readString(config.enrollTokenFile(), StandardCharsets.UTF_8).trim();
            EnrollResponse approved = enroll(config, token, Files.readString(csr), requestedId);
            Files.writeString(config.stateDir().resolve("agent-id"), approved.getAgentId() + "\n");
            Path tmp = config.stateDir().resolve(CERT + ".tmp");
            Files.writeString(tmp, approved.getCertificatePem());
            Files.move(tmp, cert, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            log.info("enrolled as agent {}; certificate kept in {}", approved.getAgentId(), cert);
        }
        return config.withCertificate(cert, key);
    }

    private static EnrollResponse enroll(AgentConfig config, String token, String csr, String requestedId)
            throws IOException, InterruptedException {
        IntervalFunction backoff = IntervalFunction.ofExponentialRandomBackoff(2_000, 1.5, 0.3, 60_000);
        for (int attempt = 1; ; attempt++) {
            String address = config.controllers().get((attempt - 1) % config.controllers().size());
            ManagedChannel channel = NettyChannelBuilder.forTarget(address,
                    TlsChannelCredentials.newBuilder().trustManager(AgentTls.controllerTrust(config.caFile())).build()).build();
            try {
                EnrollResponse response = AgentServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .enroll(EnrollRequest.newBuilder().setEnrollmentToken(token).setCsrPem(csr).setRequestedId(requestedId)
                                .setHostname(InetAddress.getLocalHost().getHostName()).putAllLabels(config.labels()).build());
                if (response.hasCertificatePem()) {
                    return response;
                }
                // an operator has to act: say so at the level operators watch
                log.warn("enrollment at {} is pending: {}", address, response.getPending());
            } catch (StatusRuntimeException e) {
                String tls = TlsFailures.explain(e, address, null, true);
                log.error("enrollment at {} failed: {}", address, tls != null ? tls : e.getStatus().getCode()
                        + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription()));
            } finally {
                channel.shutdownNow();
            }
            TimeUnit.MILLISECONDS.sleep(backoff.apply(attempt));
        }
    }

    private static KeyPair newKey(Path file) throws IOException {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = generator.generateKeyPair();
            Files.deleteIfExists(file);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, "-----BEGIN PRIVATE KEY-----\n"
                    + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(pair.getPrivate().getEncoded())
                    + "\n-----END PRIVATE KEY-----\n", StandardOpenOption.TRUNCATE_EXISTING);
            return pair;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK 17 has EC P-256", e);
        }
    }

    private static String csr(String id, KeyPair pair) throws IOException {
        try {
            var request = new JcaPKCS10CertificationRequestBuilder(new X500Principal("CN=" + id), pair.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()));
            StringWriter out = new StringWriter();
            try (JcaPEMWriter pem = new JcaPEMWriter(out)) {
                pem.writeObject(request);
            }
            return out.toString();
        } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot sign the CSR: " + e.getMessage(), e);
        }
    }
}
