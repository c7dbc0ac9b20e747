package dev.deploykit.agent;

import dev.deploykit.spi.support.Sha256;
import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.ArtifactChunk;
import dev.deploykit.transport.grpc.proto.ArtifactSource;
import dev.deploykit.transport.grpc.proto.EnsureArtifact;
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

    /**
     * The local path of the verified artifact {@code spec} names, fetching (and resuming) as needed:
     * from each relay it lists in turn, then from {@code controller}. With chunk digests, every chunk
     * is checked as it completes: a source that sends a bad one is dropped and the next goes on from
     * the end of the last good chunk; a source that fails or stalls is left the same way, from where
     * it got to. What happened is added to {@code notes} (for the step's output).
     */
    Path ensure(EnsureArtifact spec, AgentServiceGrpc.AgentServiceBlockingStub controller, RelayClients relays, List<String> notes,
            java.util.Map<String, Long> relayBytes) throws IOException, InterruptedException {
        String sha256 = spec.getSha256();
        long size = spec.getSize();
        if (!sha256.matches("[0-9a-f]{64}")) {
            throw new IOException("not a sha256 digest: '" + sha256 + "'");
        }
        Path target = dir.resolve(sha256);
        if (Files.isRegularFile(target) && Sha256.of(target).equals(sha256)) {
            Files.setLastModifiedTime(target, FileTime.fromMillis(System.currentTimeMillis()));
            return target;
        }
        Path partial = dir.resolve(sha256 + ".partial");
        Chunks chunks = spec.getChunkSha256Count() == 0 ? null : new Chunks(spec.getChunkSize(), spec.getChunkSha256List(), size);
        for (ArtifactSource source : spec.getSourcesList()) {
            Resume resume = resumable(partial, size, chunks);
            long from = resume.from();
            try {
                RelayClients.Fetch fetch = relays.open(source);
                try {
                    fetch(offset -> fetch.chunks(FetchArtifactRequest.newBuilder().setSha256(sha256).setOffset(offset).setAgentId(agentId)
                            .build()), sha256, from, size, partial, chunks, resume.digest(), "relay " + source.getAgentId());
                } finally {
                    fetch.close();
                }
                notes.add("fetched bytes " + from + "-" + size + " from relay " + source.getAgentId() + " (" + source.getEndpoint() + ")");
                relayBytes.merge(source.getAgentId(), size - from, Long::sum);
                return place(sha256, partial, target, resume.digest());
            } catch (BadChunk e) {
                relayBytes.merge(source.getAgentId(), Math.max(0, e.start - from), Long::sum);
                notes.add("relay " + source.getAgentId() + " sent a bad chunk " + e.index + " (bytes " + e.start + "-" + e.end
                        + "): dropped it; going on from byte " + e.start + " with the next source");
                log.warn("relay {} sent a bad chunk {} of {}: dropped", source.getAgentId(), e.index, sha256);
            } catch (StatusRuntimeException | IOException e) {
                if (noSpace(e)) {
                    Files.deleteIfExists(partial);
                    throw new IOException("no space left on " + dir + " for artifact " + sha256 + " (" + size
                            + " bytes); the partial file was deleted", e);
                }
                String why = e instanceof StatusRuntimeException s ? s.getStatus().getCode() + ": " + s.getStatus().getDescription()
                        : e.getMessage();
                relayBytes.merge(source.getAgentId(), Math.max(0, (Files.exists(partial) ? Files.size(partial) : 0) - from), Long::sum);
                notes.add("relay " + source.getAgentId() + " failed at byte " + (Files.exists(partial) ? Files.size(partial) : 0)
                        + " (" + why + "); going on with the next source");
                log.warn("relay {} failed for {}: {}", source.getAgentId(), sha256, why);
            }
        }
        for (int attempt = 1; ; attempt++) {
            Resume resume = resumable(partial, size, chunks);
            long from = resume.from();
            try {
                fetch(offset -> controller.fetchArtifact(FetchArtifactRequest.newBuilder().setSha256(sha256).setOffset(offset)
                        .setAgentId(agentId).build()), sha256, from, size, partial, chunks, resume.digest(), "controller");
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
            if (!spec.getSourcesList().isEmpty()) {
                notes.add("fetched bytes " + from + "-" + size + " from the controller");
            }
            return place(sha256, partial, target, resume.digest());
        }
    }

    /** Checks the whole file's SHA-256 ({@code digest}, computed while it was written), then moves it into place. */
    private Path place(String sha256, Path partial, Path target, MessageDigest digest) throws IOException {
        String actual = Sha256.hex(digest);
        if (!actual.equals(sha256)) {
            Files.deleteIfExists(partial);
            throw new IOException("artifact digest mismatch: expected " + sha256 + ", got " + actual);
        }
        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        evict(target);
        return target;
    }

    /**
     * How much of the partial file to keep: all of it without chunk digests (the final SHA-256
     * decides), else up to the end of its last complete chunk that checks out.
     */
    private static Resume resumable(Path partial, long size, Chunks chunks) throws IOException {
        long have = Files.exists(partial) ? Files.size(partial) : 0;
        if (have > size) {
            Files.delete(partial);
            have = 0;
        }
        if (chunks != null && have > 0) {
            long good = goodPrefix(partial, have, chunks);
            if (good < have) {
                try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE)) {
                    ch.truncate(good);
                }
                have = good;
            }
        }
        MessageDigest whole = Sha256.newDigest();
        if (have > 0) {
            try (InputStream in = Files.newInputStream(partial)) {
                Sha256.copy(in, OutputStream.nullOutputStream(), whole);
            }
        }
        return new Resume(have, whole);
    }

    /** The length of the partial file's leading complete chunks that match their digests. */
    private static long goodPrefix(Path partial, long have, Chunks chunks) throws IOException {
        long good = 0;
        byte[] buf = new byte[64 * 1024];
        try (InputStream in = Files.newInputStream(partial)) {
            for (int i = 0; i < chunks.digests().size() && chunks.end(i) <= have; i++) {
                MessageDigest d = Sha256.newDigest();
                long left = chunks.end(i) - chunks.start(i);
                while (left > 0) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        return good;
                    }
                    d.update(buf, 0, n);
                    left -= n;
                }
                if (!java.util.Arrays.equals(d.digest(), chunks.digests().get(i).toByteArray())) {
                    return good;
                }
                good = chunks.end(i);
            }
        }
        return good;
    }

    /** Where to go on from, with the SHA-256 of the bytes kept so far. */
    private record Resume(long from, MessageDigest digest) {}

    private static boolean noSpace(Exception e) {
        return e.getMessage() != null && e.getMessage().contains("No space left on device");
    }

    /** Opens a stream of chunks from an offset. */
    private interface Stream0 {
        Iterator<ArtifactChunk> from(long offset);
    }

    private void fetch(Stream0 source, String sha256, long offset, long size, Path partial, Chunks chunks, MessageDigest whole,
            String who) throws IOException {
        long have = offset;
        // cancelled when this method leaves, so that a pull given up here (a full disk, a bad chunk) ends on the sender too
        Context.CancellableContext call = Context.current().withCancellation();
        Context previous = call.attach();
        try (FileChannel out = FileChannel.open(partial, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND),
                PrivateFiles.PRIVATE_FILE)) {
            Iterator<ArtifactChunk> stream = source.from(offset);
            CheckingWriter writer = new CheckingWriter(out, chunks, offset, whole);
            while (stream.hasNext()) {
                ArtifactChunk chunk = stream.next();
                have += chunk.getData().size();
                if (have > size) {
                    throw new IOException(who + " sent more than the " + size + " bytes of " + sha256);
                }
                try {
                    UnsafeByteOperations.unsafeWriteTo(chunk.getData(), writer);
                } catch (BadChunk e) {
                    out.truncate(e.start);
                    throw e;
                }
            }
        } finally {
            call.detach(previous);
            call.cancel(null);
        }
        if (have != size) {
            throw new IOException("artifact " + sha256 + " ended at " + have + " of " + size + " bytes");
        }
    }

    /** The chunk digests the controller sent: chunk {@code i} is bytes {@code [i*size, min((i+1)*size, total))}. */
    private record Chunks(long size, List<com.google.protobuf.ByteString> digests, long total) {
        long start(int i) {
            return i * size;
        }

        long end(int i) {
            return Math.min((i + 1) * size, total);
        }
    }

    /** A chunk whose SHA-256 is not the one the controller listed. */
    private static final class BadChunk extends IOException {
        final int index;
        final long start;
        final long end;

        BadChunk(int index, long start, long end) {
            super("chunk " + index + " (bytes " + start + "-" + end + ") does not match its digest");
            this.index = index;
            this.start = start;
            this.end = end;
        }
    }

    /**
     * Writes a chunk straight from the protobuf's own array (a read-only view of it, as
     * {@code ByteString.asReadOnlyByteBufferList} gives, has no accessible array, so
     * {@code MessageDigest} would copy it again in 4 KiB steps), checking each chunk against its
     * digest as it completes ({@link BadChunk}). The array is only read here.
     */
    private static final class CheckingWriter extends ByteOutput {
        private final FileChannel out;
        private final Chunks chunks;
        private final MessageDigest whole;
        private long position;
        private int index;
        private MessageDigest digest;

        CheckingWriter(FileChannel out, Chunks chunks, long position, MessageDigest whole) {
            this.out = out;
            this.chunks = chunks;
            this.whole = whole;
            this.position = position;
            if (chunks != null) {
                // resumable() keeps only whole chunks, so the position is a chunk start
                this.index = (int) (position / chunks.size());
                this.digest = Sha256.newDigest();
            }
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
            while (value.hasRemaining()) {
                ByteBuffer part = value.duplicate();
                if (chunks != null) {
                    long toBoundary = chunks.end(index) - position;
                    if (part.remaining() > toBoundary) {
                        part.limit(part.position() + (int) toBoundary);
                    }
                    digest.update(part.duplicate());
                }
                int n = part.remaining();
                whole.update(part.duplicate());
                while (part.hasRemaining()) {
                    out.write(part);
                }
                value.position(value.position() + n);
                position += n;
                if (chunks != null && position == chunks.end(index)) {
                    if (index >= chunks.digests().size() || !java.util.Arrays.equals(digest.digest(), chunks.digests().get(index).toByteArray())) {
                        throw new BadChunk(index, chunks.start(index), chunks.end(index));
                    }
                    index++;
                    digest = Sha256.newDigest();
                }
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
