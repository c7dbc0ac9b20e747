package dev.deploykit.spi.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 helpers: hash while copying, so each byte is read once. */
public final class Sha256 {
    private Sha256() {}

    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** Copies {@code in} to {@code out}, feeding {@code digest} with every byte. */
    public static void copy(InputStream in, OutputStream out, MessageDigest digest) throws IOException {
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) > 0) {
            digest.update(buf, 0, n);
            out.write(buf, 0, n);
        }
    }

    /** Copies {@code in} to {@code target} (replacing it) and returns the hex digest of the bytes. */
    public static String copy(InputStream in, Path target) throws IOException {
        MessageDigest digest = newDigest();
        try (OutputStream out = Files.newOutputStream(target)) {
            copy(in, out, digest);
        }
        return hex(digest);
    }

    /** The hex digest of a file's contents. */
    public static String of(Path file) throws IOException {
        MessageDigest digest = newDigest();
        try (InputStream in = Files.newInputStream(file)) {
            copy(in, OutputStream.nullOutputStream(), digest);
        }
        return hex(digest);
    }

    public static String hex(MessageDigest digest) {
        return HexFormat.of().formatHex(digest.digest());
    }
}
