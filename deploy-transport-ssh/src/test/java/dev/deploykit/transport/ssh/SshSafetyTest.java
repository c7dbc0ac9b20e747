package dev.deploykit.transport.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Artifact;
import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.Server;
import dev.deploykit.TransportException;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.store.fs.FileArtifactStore;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Host key policy, resumable and verified uploads, against MINA's embedded server. */
class SshSafetyTest {
    @TempDir
    Path tmp;

    private static String fingerprint(SshFixtures.Key key) throws Exception {
        return KeyUtils.getFingerPrint(PublicKeyEntry.parsePublicKeyEntry(key.publicLine()).resolvePublicKey(null, Map.of(), null));
    }


    @Test
    void changedHostKeyIsRefusedWithBothFingerprintsAndNothingRuns() throws Exception {
        SshFixtures.Key known = SshFixtures.keygen(tmp, "known_host_key");
        SshFixtures.Key actual = SshFixtures.keygen(tmp, "actual_host_key");
        SshFixtures.Key user = SshFixtures.keygen(tmp, "user");
        Path marker = tmp.resolve("marker");
        try (SshFixtures.Sshd sshd = SshFixtures.mina(tmp, actual, user);
                SshTransport ssh = SshFixtures.transport(tmp, user, known, List.of(sshd.port()))) {
            TransportException e = assertThrows(TransportException.class, () -> {
                try (NodeSession s = ssh.open(SshFixtures.server("node", sshd, tmp))) {
                    s.exec(Command.of("touch", marker.toString()), OutputListener.IGNORE);
                }
            });
            assertTrue(e.getMessage().contains("has changed"), e.getMessage());
            assertTrue(e.getMessage().contains(fingerprint(known)), e.getMessage());
            assertTrue(e.getMessage().contains(fingerprint(actual)), e.getMessage());
            assertFalse(e.retryable(), "a changed host key is not retried");
        }
        assertFalse(Files.exists(marker));
    }

    @Test
    void unknownHostIsRefusedUnlessTrustOnFirstUseWhichRecordsTheKey() throws Exception {
        SshFixtures.Key host = SshFixtures.keygen(tmp, "host");
        SshFixtures.Key user = SshFixtures.keygen(tmp, "user");
        Path knownHosts = Files.createFile(tmp.resolve("known_hosts"));
        try (SshFixtures.Sshd sshd = SshFixtures.mina(tmp, host, user)) {
            try (SshTransport strict = SshTransport.builder().knownHosts(knownHosts).identity(user.file()).build()) {
                TransportException e = assertThrows(TransportException.class, () -> strict.open(SshFixtures.server("node", sshd, tmp)));
                assertTrue(e.getMessage().contains("is not in " + knownHosts), e.getMessage());
                assertTrue(e.getMessage().contains(fingerprint(host)), e.getMessage());
            }
            assertEquals("", Files.readString(knownHosts));
            try (SshTransport tofu = SshTransport.builder().knownHosts(knownHosts).identity(user.file()).trustOnFirstUse(true).build();
                    NodeSession s = tofu.open(SshFixtures.server("node", sshd, tmp))) {
                assertEquals(0, s.exec(Command.of("true"), OutputListener.IGNORE).exitCode());
            }
            String recorded = Files.readString(knownHosts);
            assertTrue(recorded.contains(host.publicLine().split(" ")[1]), recorded);
            try (SshTransport strictAgain = SshTransport.builder().knownHosts(knownHosts).identity(user.file()).build();
                    NodeSession s = strictAgain.open(SshFixtures.server("node", sshd, tmp))) {
                assertEquals(0, s.exec(Command.of("true"), OutputListener.IGNORE).exitCode(), "the recorded key is trusted from now on");
            }
        }
    }

    @Test
    void wrongUserKeyIsRefusedWithoutRetrying() throws Exception {
        SshFixtures.Key host = SshFixtures.keygen(tmp, "host");
        SshFixtures.Key user = SshFixtures.keygen(tmp, "user");
        SshFixtures.Key stranger = SshFixtures.keygen(tmp, "stranger");
        try (SshFixtures.Sshd sshd = SshFixtures.mina(tmp, host, user);
                SshTransport ssh = SshFixtures.transport(tmp, stranger, host, List.of(sshd.port()))) {
            TransportException e = assertThrows(TransportException.class, () -> ssh.open(SshFixtures.server("node", sshd, tmp)));
            assertTrue(e.getMessage().contains("cannot log in"), e.getMessage());
            assertFalse(e.retryable());
        }
    }

    @Test
    void deadHostTripsTheCircuitBreakerAndFailsFast() throws Exception {
        SshFixtures.Key user = SshFixtures.keygen(tmp, "user");
        int closedPort = SshFixtures.freePort();
        try (SshTransport ssh = SshTransport.builder().knownHosts(Files.createFile(tmp.resolve("kh"))).identity(user.file())
                .connectRetries(1, Duration.ofMillis(10)).circuitBreaker(2, Duration.ofMinutes(1)).build()) {
            Server dead = Server.of("dead", Binding.ssh("127.0.0.1", closedPort, "x"), Map.of());
            for (int i = 0; i < 2; i++) {
                TransportException e = assertThrows(TransportException.class, () -> ssh.open(dead));
                assertTrue(e.getMessage().contains("cannot connect"), e.getMessage());
                assertTrue(e.retryable());
            }
            TransportException open = assertThrows(TransportException.class, () -> ssh.open(dead));
            assertTrue(open.getMessage().contains("next try after"), open.getMessage());
        }
    }

    /** An artifact store that counts the bytes it serves. */
    private static final class Counting implements ArtifactStore {
        final ArtifactStore delegate;
        final AtomicLong served = new AtomicLong();
        /** Serving fails once this many bytes went out (a cut connection); negative: never. */
        volatile long failAfter = -1;

        Counting(ArtifactStore delegate) {
            this.delegate = delegate;
        }

        @Override
        public Artifact put(Path file) {
            return delegate.put(file);
        }

        @Override
        public Staged stage(InputStream content, String fileName) {
            return delegate.stage(content, fileName);
        }

        @Override
        public Optional<Artifact> find(String sha256) {
            return delegate.find(sha256);
        }

        @Override
        public InputStream open(String sha256, long offset) {
            return new FilterInputStream(delegate.open(sha256, offset)) {
                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (failAfter >= 0 && served.get() >= failAfter) {
                        throw new IOException("connection cut");
                    }
                    int n = super.read(b, off, Math.min(len, 64 * 1024));
                    if (n > 0) {
                        served.addAndGet(n);
                    }
                    return n;
                }
            };
        }

        @Override
        public boolean delete(String sha256) {
            return delegate.delete(sha256);
        }
    }

    @Test
    void interruptedUploadResumesAndBadPartialOrCachedFilesAreReplaced() throws Exception {
        SshFixtures.Key host = SshFixtures.keygen(tmp, "host");
        SshFixtures.Key user = SshFixtures.keygen(tmp, "user");
        byte[] data = new byte[8 * 1024 * 1024];
        new Random(5).nextBytes(data);
        Counting artifacts = new Counting(new FileArtifactStore(tmp.resolve("artifacts")));
        Artifact artifact = artifacts.put(Files.write(tmp.resolve("blob"), data));
        Path root = Files.createDirectories(tmp.resolve("root"));
        Path cache = root.resolve("var/cache/deploykit/sha256");
        try (SshFixtures.Sshd sshd = SshFixtures.mina(tmp, host, user);
                SshTransport ssh = SshFixtures.transport(tmp, user, host, List.of(sshd.port()));
                NodeSession s = ssh.open(SshFixtures.server("node", sshd, root))) {
            // a connection cut after 5 MiB left this partial file behind
            Files.createDirectories(cache);
            Files.write(cache.resolve(artifact.sha256() + ".partial"), java.util.Arrays.copyOf(data, 5 * 1024 * 1024));
            String path = s.ensureArtifact(artifact, artifacts);
            assertEquals(cache.resolve(artifact.sha256()).toString(), path);
            assertEquals(3 * 1024 * 1024, artifacts.served.get(), "only the missing 3 MiB are sent");
            assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(Path.of(path))));
            assertFalse(Files.exists(cache.resolve(artifact.sha256() + ".partial")));

            // an upload cut after 2 MiB keeps what arrived; the next try sends only the rest
            Files.delete(Path.of(path));
            artifacts.served.set(0);
            artifacts.failAfter = 2 * 1024 * 1024;
            TransportException cut = assertThrows(TransportException.class, () -> s.ensureArtifact(artifact, artifacts));
            assertTrue(cut.retryable(), cut.getMessage());
            assertFalse(Files.exists(Path.of(path)), "an incomplete upload is never put in place");
            // what was sent before the cut is still landing on the node
            Path partial = cache.resolve(artifact.sha256() + ".partial");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (Files.size(partial) < 2 * 1024 * 1024 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(2 * 1024 * 1024, Files.size(partial), "everything sent before the cut is kept");
            artifacts.failAfter = -1;
            artifacts.served.set(0);
            s.ensureArtifact(artifact, artifacts);
            assertEquals(data.length - 2 * 1024 * 1024, artifacts.served.get(), "resumed from the kept partial file");
            assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(Path.of(path))));

            // a partial file that is not a prefix of the artifact is detected and the upload restarts
            Files.delete(Path.of(path));
            byte[] wrong = java.util.Arrays.copyOf(data, 1024 * 1024);
            wrong[10] ^= 1;
            Files.write(cache.resolve(artifact.sha256() + ".partial"), wrong);
            artifacts.served.set(0);
            s.ensureArtifact(artifact, artifacts);
            assertEquals(7 * 1024 * 1024 + data.length, artifacts.served.get());
            assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(Path.of(path))));

            // a corrupted cached copy is detected by its digest and replaced
            Files.write(Path.of(path), "corrupt".getBytes());
            s.ensureArtifact(artifact, artifacts);
            assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(Path.of(path))));
            artifacts.served.set(0);
            s.ensureArtifact(artifact, artifacts);
            assertEquals(0, artifacts.served.get(), "an intact cached copy is not sent again");
        }
    }
}
