package dev.deploykit.format.script;

import io.airlift.compress.zstd.ZstdInputStream;
import io.airlift.compress.zstd.ZstdOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * How a script bundle's tar is compressed, told by the file's first bytes (never its name): gzip,
 * zstd or none. Each knows its {@code tar} option on the node, where {@code tar} decompresses
 * straight from the verified artifact: {@code .tar} costs the node no decompression at all, and
 * zstd decompresses several times faster than gzip (the node needs GNU tar 1.31 or later and the
 * {@code zstd} program for {@code .tar.zst}).
 */
enum BundleCompression {
    GZIP("tar.gz"),
    ZSTD("tar.zst"),
    NONE("tar");

    private static final byte[] GZIP_MAGIC = {0x1f, (byte) 0x8b};
    private static final byte[] ZSTD_MAGIC = {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd};
    /** A POSIX or GNU tar header has "ustar" at offset 257. */
    private static final int USTAR_OFFSET = 257;
    private static final byte[] USTAR = "ustar".getBytes(StandardCharsets.US_ASCII);

    /** The file name suffix and the metadata value ({@code archive}) that name it. */
    final String suffix;

    BundleCompression(String suffix) {
        this.suffix = suffix;
    }

    /** The compression of {@code file}'s tar, or empty when it is none of the three. */
    static Optional<BundleCompression> of(Path file) {
        byte[] head = new byte[USTAR_OFFSET + USTAR.length];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            return Optional.empty();
        }
        if (startsWith(head, n, GZIP_MAGIC, 0)) {
            return Optional.of(GZIP);
        }
        if (startsWith(head, n, ZSTD_MAGIC, 0)) {
            return Optional.of(ZSTD);
        }
        return startsWith(head, n, USTAR, USTAR_OFFSET) ? Optional.of(NONE) : Optional.empty();
    }

    /** The compression a bundle file named {@code target} is written with, from its suffix. */
    static BundleCompression forName(Path target) {
        String name = target.getFileName().toString();
        if (name.endsWith(".tar.gz") || name.endsWith(".tgz")) {
            return GZIP;
        }
        return Arrays.stream(values()).filter(c -> name.endsWith("." + c.suffix)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("a script bundle file name ends with .tar.gz, .tgz, .tar.zst or .tar, but was '"
                        + name + "'"));
    }

    /** The compression recorded as metadata field {@code archive}; bundles published before it was recorded are gzip. */
    static BundleCompression fromField(String value) {
        if (value == null || value.isEmpty()) {
            return GZIP;
        }
        return Arrays.stream(values()).filter(c -> c.suffix.equals(value)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown bundle archive '" + value + "'"));
    }

    InputStream decompress(InputStream in) throws IOException {
        return switch (this) {
            case GZIP -> new GZIPInputStream(in, 64 * 1024);
            case ZSTD -> new ZstdInputStream(in);
            case NONE -> in;
        };
    }

    OutputStream compress(OutputStream out) throws IOException {
        return switch (this) {
            case GZIP -> new GZIPOutputStream(out, 64 * 1024);
            case ZSTD -> new ZstdOutputStream(out);
            case NONE -> out;
        };
    }

    /** The shell words that unpack {@code "$2"} into {@code "$1"} on the node. */
    String untar() {
        String option = this == GZIP ? "-xzf" : this == ZSTD ? "--zstd -xf" : "-xf";
        return "tar " + option + " \"$2\" -C \"$1\" --no-same-owner";
    }

    private static boolean startsWith(byte[] head, int n, byte[] magic, int at) {
        if (n < at + magic.length) {
            return false;
        }
        return Arrays.equals(head, at, at + magic.length, magic, 0, magic.length);
    }
}
