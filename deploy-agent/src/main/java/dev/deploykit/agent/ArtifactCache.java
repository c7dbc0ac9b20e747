package dev.deploykit.agent;

import dev.deploykit.spi.support.Sha256;
import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.ArtifactChunk;
import dev.deploykit.transport.grpc.proto.FetchArtifactRequest;
import com.google.protobuf.ByteOutput;
import com.google.protobuf.UnsafeByteOperations;
import io.github.resilience4j.core.IntervalFunction;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's content-addressed artifact cache: {@code <state>/artifacts/sha256/<hex>}, in 0700 dirs. A missing
 * artifact is pulled from the controller into {@code <hex>.partial}; after a broken connection the
 * pull resumes from the partial file's length. The SHA-256 is computed while receiving (the bytes
 * already on disk are hashed first) and checked before the file is moved into place. The cache is
 * kept under its size cap by deleting the least recently used artifacts. A pull that runs out of disk
 * space deletes its partial file and fails with "no space left on <dir>".
 */
final class ArtifactCache {
    private static final Logger log = LoggerFactory.getLogger(ArtifactCache.class);
    private static final int ATTEMPTS = 20;
    private final Path dir;
    /** Who asks for artifacts: without mutual TLS the gateway knows the agent only by this. */
    private final String agentId;
    private final long maxBytes;
    private final IntervalFunction backoff = IntervalFunction.ofExponentialRandomBackoff(200, 2.0, 0.5, 10_000);

    ArtifactCache(Path stateDir, long maxBytes, String agentId) throws IOException {
        this.agentId = agentId;
        PrivateFiles.directory(stateDir.resolve("artifacts"));
        this.dir = PrivateFiles.directory(stateDir.resolve("artifacts/sha256"));
        this.maxBytes = maxBytes;
    }

    /** The local path of the verified artifact, fetching (and resuming) as needed. */
    Path ensure(String sha256, long size, AgentServiceGrpc.AgentServiceBlockingStub stub) throws IOException, InterruptedException {
        if (!sha256.matches("[0-9a-f]{64}")) {
            throw new IOException("not a sha256 digest: '" + sha256 + "'");
        }
        Path target = dir.resolve(sha256);
        if (Files.isRegularFile(target) && Sha256.of(target).equals(sha256)) {
            Files.setLastModifiedTime(target, FileTime.fromMillis(System.currentTimeMillis()));
            return target;
        }
        Path partial = dir.resolve(sha256 + ".partial");
        for (int attempt = 1; ; attempt++) {
            long have = Files.exists(partial) ? Files.size(partial) : 0;
            if (have > size) {
                Files.delete(partial);
                have = 0;
            }
            MessageDigest digest = Sha256.newDigest();
            if (have > 0) {
                try (InputStream in = Files.newInputStream(partial)) {
                    Sha256.copy(in, OutputStream.nullOutputStream(), digest);
                }
            }
            try {
                fetch(stub, sha256, have, size, partial, digest);
            } catch (IOException e) {
                if (!noSpace(e)) {
                    throw e;
                }
                // a partial file that filled the disk would keep it full for every later step: never keep it
                Files.deleteIfExists(partial);
                throw new IOException("no space left on " + dir + " for artifact " + sha256 + " (" + size
                        + " bytes); the partial file was deleted", e);
            } catch (StatusRuntimeException e) {
                if (attempt >= ATTEMPTS) {
                    throw new IOException("fetching " + sha256 + " failed " + attempt + " times: " + e.getStatus(), e);
                }
                long wait = backoff.apply(attempt);
                log.warn("fetching {} broke at {} bytes ({}); resuming in {} ms", sha256, Files.exists(partial) ? Files.size(partial) : 0,
                        e.getStatus().getCode(), wait);
                TimeUnit.MILLISECONDS.sleep(wait);
                continue;
            }
            String actual = Sha256.hex(digest);
            if (!actual.equals(sha256)) {
                Files.deleteIfExists(partial);
                throw new IOException("artifact digest mismatch: expected " + sha256 + ", got " + actual);
            }
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            evict(target);
            return target;
        }
    }

    private static boolean noSpace(IOException e) {
        return e.getMessage() != null && e.getMessage().contains("No space left on device");
    }

    private void fetch(AgentServiceGrpc.AgentServiceBlockingStub stub, String sha256, long offset, long size, Path partial,
            MessageDigest digest) throws IOException {
        long have = offset;
        // cancelled when this method leaves, so that a pull given up here (a full disk) ends on the controller too
        Context.CancellableContext call = Context.current().withCancellation();
        Context previous = call.attach();
        try (FileChannel out = FileChannel.open(partial, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND),
                PrivateFiles.PRIVATE_FILE)) {
            Iterator<ArtifactChunk> chunks = stub.fetchArtifact(FetchArtifactRequest.newBuilder().setSha256(sha256).setOffset(offset)
                    .setAgentId(agentId).build());
            HashingWriter writer = new HashingWriter(out, digest);
            while (chunks.hasNext()) {
                ArtifactChunk chunk = chunks.next();
                have += chunk.getData().size();
                if (have > size) {
                    throw new IOException("controller sent more than the " + size + " bytes of " + sha256);
                }
                UnsafeByteOperations.unsafeWriteTo(chunk.getData(), writer);
            }
        } finally {
            call.detach(previous);
            call.cancel(null);
        }
        if (have != size) {
            throw new IOException("artifact " + sha256 + " ended at " + have + " of " + size + " bytes");
        }
    }

    /**
     * Hashes and writes a chunk straight from the protobuf's own array. (A read-only view of it, as
     * {@code ByteString.asReadOnlyByteBufferList} gives, has no accessible array, so
     * {@code MessageDigest} would copy it again in 4 KiB steps.) The array is only read here.
     */
    private static final class HashingWriter extends ByteOutput {
        private final FileChannel out;
        private final MessageDigest digest;

        HashingWriter(FileChannel out, MessageDigest digest) {
            this.out = out;
            this.digest = digest;
        }

        @Override
        public void write(byte value) throws IOException {
            write(new byte[] {value}, 0, 1);
        }

        @Override
        public void write(byte[] value, int offset, int length) throws IOException {
            write(ByteBuffer.wrap(value, offset, length));
        }

        @Override
        public void writeLazy(byte[] value, int offset, int length) throws IOException {
            write(value, offset, length);
        }

        @Override
        public void write(ByteBuffer value) throws IOException {
            digest.update(value.duplicate());
            while (value.hasRemaining()) {
                out.write(value);
            }
        }

        @Override
        public void writeLazy(ByteBuffer value) throws IOException {
            write(value);
        }
    }

    /** Deletes least recently used artifacts until the cache fits its cap; never {@code keep}. */
    private void evict(Path keep) throws IOException {
        List<Path> files;
        try (Stream<Path> all = Files.list(dir)) {
            files = all.filter(p -> !p.getFileName().toString().endsWith(".partial")).toList();
        }
        long total = 0;
        for (Path f : files) {
            total += Files.size(f);
        }
        if (total <= maxBytes) {
            return;
        }
        List<Path> oldestFirst = files.stream().sorted(Comparator.comparing(p -> {
            try {
                return Files.getLastModifiedTime(p);
            } catch (IOException e) {
                return FileTime.fromMillis(0);
            }
        })).toList();
        for (Path f : oldestFirst) {
            if (total <= maxBytes) {
                break;
            }
            if (!f.equals(keep)) {
                total -= Files.size(f);
                Files.deleteIfExists(f);
                log.info("evicted {} from the artifact cache", f.getFileName());
            }
        }
    }
}
