package dev.deploykit.format;

import dev.deploykit.PackageFormatException;
import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarUtils;

/**
 * Reads a tar stream under hard limits, so that a small compressed file cannot make inspection
 * allocate or read without bound. commons-compress reads a GNU long name or link ({@code L},
 * {@code K}) and a PAX header ({@code x}, {@code X}, {@code g}) into memory whole, whatever size its
 * header claims; here each such header record is looked at before commons-compress parses it, and
 * one of more than {@link #MAX_EXTENDED_HEADER} bytes is refused. Beyond that:
 *
 * <ul>
 *   <li>everything commons-compress reads to produce one entry (headers, long names, PAX data,
 *       sparse maps) is at most {@link #MAX_HEADERS_PER_ENTRY} bytes, which also bounds chains of
 *       extended headers;
 *   <li>global PAX headers total at most {@link #MAX_EXTENDED_HEADER} bytes per archive (commons-compress
 *       keeps and copies them for every later entry);
 *   <li>entry names and link targets are at most {@link #MAX_NAME} characters (Linux's PATH_MAX);
 *   <li>the caller's own limits on the number of entries and on the uncompressed bytes read.
 * </ul>
 *
 * <p>Each refusal is a {@link PackageFormatException} that names the archive, the entry number and
 * the limit. The caller owns the stream it passes in; {@link #close()} closes it. Not thread-safe.
 *
 * <pre>{@code
 * try (BoundedTar tar = BoundedTar.open(new GZIPInputStream(in), "data.tar.gz", 1_000_000, 64L << 30)) {
 *     for (TarArchiveEntry e = tar.next(); e != null; e = tar.next()) {
 *         paths.check(e);
 *     }
 * }
 * }</pre>
 */
public final class BoundedTar implements Closeable {
    /** Largest GNU long name or link, or PAX header, in bytes. */
    public static final int MAX_EXTENDED_HEADER = 64 * 1024;
    /** Largest number of bytes read to produce one entry: its header records and extended headers. */
    public static final int MAX_HEADERS_PER_ENTRY = 4 * MAX_EXTENDED_HEADER + 16 * 1024;
    /** Longest entry name or link target, in characters. */
    public static final int MAX_NAME = 4096;

    private static final int SIZE_OFFSET = 124;
    private static final int SIZE_LENGTH = 12;
    private static final int TYPE_OFFSET = 156;

    private final String label;
    private final int maxEntries;
    private final Meter meter;
    private final Reader reader;
    private int entries;
    private long globalHeaderBytes;

    private BoundedTar(InputStream tar, String label, int maxEntries, long maxBytes) {
        this.label = label;
        this.maxEntries = maxEntries;
        this.meter = new Meter(tar, maxBytes);
        this.reader = new Reader(meter);
    }

    /**
     * Reads the uncompressed tar stream {@code tar}; {@code label} names it in messages (say
     * {@code "data.tar.gz"}); at most {@code maxEntries} entries and {@code maxBytes} bytes of it are read.
     */
    public static BoundedTar open(InputStream tar, String label, int maxEntries, long maxBytes) {
        if (maxEntries < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("maxEntries and maxBytes must be positive, but were " + maxEntries + " and " + maxBytes);
        }
        return new BoundedTar(tar, label, maxEntries, maxBytes);
    }

    /** The next entry, or null after the last; what is left of the current entry is skipped. */
    public TarArchiveEntry next() throws IOException {
        if (reader.getCurrentEntry() != null) {
            // skip, not read: a sparse entry's holes are skipped at once instead of read as zeros
            while (reader.skip(Long.MAX_VALUE) > 0) {
                continue;
            }
        }
        meter.budget = MAX_HEADERS_PER_ENTRY;
        TarArchiveEntry entry;
        try {
            entry = reader.getNextEntry();
        } finally {
            meter.budget = -1;
        }
        if (entry == null) {
            return null;
        }
        if (entry.getName().length() > MAX_NAME || entry.getLinkName().length() > MAX_NAME) {
            throw refused("a name or link target of more than " + MAX_NAME + " characters");
        }
        if (++entries > maxEntries) {
            throw new PackageFormatException(label + " has more than " + maxEntries + " entries");
        }
        return entry;
    }

    /** The current entry's content, read up to its end. Closing it closes this archive. */
    public InputStream content() {
        return reader;
    }

    /** Closes the stream this archive reads. */
    @Override
    public void close() throws IOException {
        reader.close();
    }

    private PackageFormatException refused(String what) {
        return new PackageFormatException(label + " entry " + (entries + 1) + ": " + what);
    }

    /** Called with each raw header record before commons-compress parses it. */
    private void checkRecord(byte[] record) {
        String kind = switch (record[TYPE_OFFSET]) {
            case 'L' -> "GNU long name";
            case 'K' -> "GNU long link name";
            case 'x', 'X' -> "PAX header";
            case 'g' -> "global PAX header";
            default -> null;
        };
        if (kind == null) {
            return;
        }
        long size;
        try {
            size = TarUtils.parseOctalOrBinary(record, SIZE_OFFSET, SIZE_LENGTH);
        } catch (IllegalArgumentException e) {
            return; // commons-compress refuses the same malformed size when it parses the record
        }
        if (size > MAX_EXTENDED_HEADER) {
            throw refused(kind + " of " + size + " bytes is over the " + MAX_EXTENDED_HEADER + "-byte limit");
        }
        if (record[TYPE_OFFSET] == 'g' && (globalHeaderBytes += size) > MAX_EXTENDED_HEADER) {
            throw refused("global PAX headers total " + globalHeaderBytes + " bytes, over the " + MAX_EXTENDED_HEADER + "-byte limit");
        }
    }

    /** commons-compress with a look at every header record it reads. */
    private final class Reader extends TarArchiveInputStream {
        Reader(InputStream in) {
            super(in);
        }

        @Override
        protected byte[] readRecord() throws IOException {
            byte[] record = super.readRecord();
            // after the end-of-archive record, commons-compress only reads to the end of the block
            if (record != null && !isAtEOF()) {
                checkRecord(record);
            }
            return record;
        }
    }

    /** Counts the bytes read: all of them against the archive's limit, and while reading headers, against the entry's. */
    private final class Meter extends FilterInputStream {
        private final long maxBytes;
        private long total;
        /** Header bytes this entry may still read; negative while entry content is read. */
        long budget = -1;

        Meter(InputStream in, long maxBytes) {
            super(in);
            this.maxBytes = maxBytes;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(n);
            if (skipped > 0) {
                count(skipped);
            }
            return skipped;
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        private void count(long n) {
            total += n;
            if (total > maxBytes) {
                throw new PackageFormatException(label + " holds more than " + maxBytes + " bytes uncompressed, the limit for it");
            }
            if (budget >= 0 && (budget -= n) < 0) {
                budget = 0;
                throw refused("its headers take more than " + MAX_HEADERS_PER_ENTRY + " bytes, the limit for one entry");
            }
        }
    }
}
