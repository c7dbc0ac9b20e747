package dev.deploykit.format;

import dev.deploykit.PackageFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/** Reads with hard limits, so a file that claims gigabytes never makes us allocate them. */
public final class Bounded {
    private Bounded() {}

    /** Reads exactly {@code n} bytes ({@code n <= max}); fewer available is a truncated file. */
    public static byte[] readExactly(InputStream in, long n, long max, String what) throws IOException {
        if (n < 0 || n > max) {
            throw new PackageFormatException(what + " claims " + n + " bytes; at most " + max + " allowed");
        }
        byte[] data = in.readNBytes((int) n);
        if (data.length != n) {
            throw new PackageFormatException(what + " is truncated: " + data.length + " of " + n + " bytes present");
        }
        return data;
    }

    /** Reads to the end, refusing more than {@code max} bytes. */
    public static byte[] readAtMost(InputStream in, int max, String what) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
            if (out.size() + n > max) {
                throw new PackageFormatException(what + " is larger than " + max + " bytes");
            }
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    /** Skips exactly {@code n} bytes; fewer available is a truncated file. */
    public static void skipExactly(InputStream in, long n, String what) throws IOException {
        long left = n;
        while (left > 0) {
            long skipped = in.skip(left);
            if (skipped <= 0) {
                if (in.read() < 0) {
                    throw new PackageFormatException(what + " is truncated");
                }
                skipped = 1;
            }
            left -= skipped;
        }
    }
}
