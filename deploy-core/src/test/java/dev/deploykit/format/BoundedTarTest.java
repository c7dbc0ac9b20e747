package dev.deploykit.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.PackageFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BoundedTarTest {
    @TempDir
    Path tmp;

    /** Reads every entry of a tar.gz with the given limits; returns the names. */
    private static List<String> names(Path file, int maxEntries, long maxBytes) throws IOException {
        List<String> names = new ArrayList<>();
        try (InputStream in = Files.newInputStream(file);
                BoundedTar tar = BoundedTar.open(new GZIPInputStream(in), "test.tar", maxEntries, maxBytes)) {
            for (TarArchiveEntry e = tar.next(); e != null; e = tar.next()) {
                names.add(e.getName());
            }
        }
        return names;
    }

    private static String refusal(Path file) {
        return assertThrows(PackageFormatException.class, () -> names(file, 100, Long.MAX_VALUE)).getMessage();
    }

    @Test
    void readsLongNamesAndLinksThatCommonsCompressWrites() throws Exception {
        String longName = "dir/".repeat(250) + "file";
        String longLink = "../".repeat(300) + "target";
        for (int mode : new int[] {TarArchiveOutputStream.LONGFILE_GNU, TarArchiveOutputStream.LONGFILE_POSIX}) {
            Path file = tmp.resolve("long-" + mode + ".tar.gz");
            try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new java.util.zip.GZIPOutputStream(Files.newOutputStream(file)))) {
                tar.setLongFileMode(mode);
                TarArchiveEntry f = new TarArchiveEntry(longName);
                f.setSize(2);
                tar.putArchiveEntry(f);
                tar.write("hi".getBytes(StandardCharsets.US_ASCII));
                tar.closeArchiveEntry();
                TarArchiveEntry l = new TarArchiveEntry("link", TarArchiveEntry.LF_SYMLINK);
                l.setLinkName(longLink);
                tar.putArchiveEntry(l);
                tar.closeArchiveEntry();
            }
            try (InputStream in = Files.newInputStream(file);
                    BoundedTar tar = BoundedTar.open(new GZIPInputStream(in), "test.tar", 10, 1 << 20)) {
                TarArchiveEntry e = tar.next();
                assertEquals(longName, e.getName());
                ByteArrayOutputStream content = new ByteArrayOutputStream();
                tar.content().transferTo(content);
                assertEquals("hi", content.toString(StandardCharsets.US_ASCII));
                assertEquals(longLink, tar.next().getLinkName());
                assertEquals(null, tar.next());
            }
        }
    }

    @Test
    void refusesAGnuLongLinkNameOverTheLimit() throws Exception {
        Path file = tmp.resolve("long-link.tar.gz");
        try (RawTar tar = RawTar.gzip(file)) {
            tar.file("first", "x").zeros("././@LongLink", (byte) 'K', 70_000, new byte[] {'a'}).file("link", "");
        }
        assertEquals("test.tar entry 2: GNU long link name of 70000 bytes is over the 65536-byte limit", refusal(file));
    }

    @Test
    void refusesAChainOfExtendedHeadersOverThePerEntryLimit() throws Exception {
        Path file = tmp.resolve("chain.tar.gz");
        try (RawTar tar = RawTar.gzip(file)) {
            for (int i = 0; i < 5; i++) {
                tar.entry("PaxHeaders/" + i, (byte) 'x', RawTar.paxRecord("comment", "c".repeat(60_000)));
            }
            tar.file("x", "x");
        }
        assertEquals("test.tar entry 1: its headers take more than " + BoundedTar.MAX_HEADERS_PER_ENTRY
                + " bytes, the limit for one entry", refusal(file));
    }

    @Test
    void refusesGlobalPaxHeadersThatAddUpOverTheLimit() throws Exception {
        Path file = tmp.resolve("global.tar.gz");
        try (RawTar tar = RawTar.gzip(file)) {
            for (int i = 0; i < 2; i++) {
                tar.entry("GlobalHead/" + i, (byte) 'g', RawTar.paxRecord("comment" + i, "c".repeat(40_000))).file("f" + i, "x");
            }
        }
        assertTrue(refusal(file).startsWith("test.tar entry 2: global PAX headers total 800"), refusal(file));
    }

    @Test
    void refusesNamesLongerThanPathMax() throws Exception {
        Path file = tmp.resolve("name.tar.gz");
        try (RawTar tar = RawTar.gzip(file)) {
            tar.entry("././@LongLink", (byte) 'L', "n".repeat(5000).getBytes(StandardCharsets.US_ASCII)).file("x", "x");
        }
        assertEquals("test.tar entry 1: a name or link target of more than 4096 characters", refusal(file));
    }

    @Test
    void stopsAtTheEntryAndByteLimitsItIsGiven() throws Exception {
        Path file = tmp.resolve("four.tar.gz");
        try (RawTar tar = RawTar.gzip(file)) {
            tar.file("a", "a").file("b", "b").file("c", "c").zeros("d", (byte) '0', 20_000, new byte[0]);
        }
        assertEquals(List.of("a", "b", "c", "d"), names(file, 4, 1 << 20));
        assertEquals("test.tar has more than 3 entries",
                assertThrows(PackageFormatException.class, () -> names(file, 3, 1 << 20)).getMessage());
        assertEquals("test.tar holds more than 10000 bytes uncompressed, the limit for it",
                assertThrows(PackageFormatException.class, () -> names(file, 4, 10_000)).getMessage());
    }
}
