package dev.deploykit.format;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

/**
 * Writes tar records by hand, through gzip, for archives no well-behaved writer makes: extended
 * headers of any claimed size with content streamed (700 MiB of zeros make a file of about 700 KB),
 * records in any order. Closing it writes the end-of-archive records.
 */
public final class RawTar implements AutoCloseable {
    public static final long HUGE = 700L * 1024 * 1024;
    private final OutputStream out;

    private RawTar(OutputStream out) {
        this.out = out;
    }

    public static RawTar gzip(Path file) throws IOException {
        return new RawTar(new GZIPOutputStream(Files.newOutputStream(file), 1 << 16));
    }

    /** A small archive in memory. */
    public static byte[] tarGz(String name, String content) throws IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (RawTar tar = new RawTar(new GZIPOutputStream(bytes))) {
            tar.file(name, content);
        }
        return bytes.toByteArray();
    }

    public RawTar file(String name, String content) throws IOException {
        return entry(name, (byte) '0', content.getBytes(StandardCharsets.UTF_8));
    }

    public RawTar entry(String name, byte type, byte[] content) throws IOException {
        out.write(header(name, type, content.length));
        out.write(content);
        pad(content.length);
        return this;
    }

    /** An entry whose content is {@code prefix} then zeros, {@code size} bytes in all, never held in memory. */
    public RawTar zeros(String name, byte type, long size, byte[] prefix) throws IOException {
        return fill(name, type, size, prefix, new byte[1 << 20]);
    }

    /** An entry whose content is {@code prefix} then {@code unit} again and again, {@code size} bytes in all. */
    public RawTar fill(String name, byte type, long size, byte[] prefix, byte[] unit) throws IOException {
        out.write(header(name, type, size));
        out.write(prefix);
        byte[] chunk = new byte[(1 << 20) / unit.length * unit.length];
        for (int i = 0; i < chunk.length; i += unit.length) {
            System.arraycopy(unit, 0, chunk, i, unit.length);
        }
        for (long left = size - prefix.length; left > 0; left -= chunk.length) {
            out.write(chunk, 0, (int) Math.min(chunk.length, left));
        }
        pad(size);
        return this;
    }

    /** A GNU long name ({@code L}) record of {@code size} bytes, then a small file. */
    public RawTar longName(long size) throws IOException {
        zeros("././@LongLink", (byte) 'L', size, "a".getBytes(StandardCharsets.US_ASCII));
        return file("x", "x");
    }

    /** A PAX ({@code x}) record of {@code size} bytes holding one key whose value fills it, then a small file. */
    public RawTar paxHeader(long size) throws IOException {
        zeros("PaxHeaders/x", (byte) 'x', size, (size + " k=").getBytes(StandardCharsets.US_ASCII));
        return file("x", "x");
    }

    /** A PAX record {@code "<length> key=value\n"}, its length counting itself. */
    public static byte[] paxRecord(String key, String value) {
        String body = " " + key + "=" + value + "\n";
        int length = body.length() + 1;
        while (String.valueOf(length).length() + body.length() != length) {
            length++;
        }
        return (length + body).getBytes(StandardCharsets.UTF_8);
    }

    private void pad(long size) throws IOException {
        int padding = (int) ((512 - size % 512) % 512);
        out.write(new byte[padding]);
    }

    static byte[] header(String name, byte type, long size) {
        byte[] h = new byte[512];
        put(h, 0, name);
        put(h, 100, "0000644");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", size));
        put(h, 136, "00000000000");
        h[156] = type;
        put(h, 257, "ustar");
        put(h, 263, "00");
        Arrays.fill(h, 148, 156, (byte) ' ');
        int sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        return h;
    }

    private static void put(byte[] h, int at, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(bytes, 0, h, at, bytes.length);
    }

    @Override
    public void close() throws IOException {
        out.write(new byte[1024]);
        out.close();
    }
}
