package dev.deploykit.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Archive bombs against the deb and script formats, each inspected in a JVM with a 64 MiB heap: a
 * GNU long name or a PAX header claiming 700 MiB (about 700 KB compressed) is refused with the limit
 * named, where commons-compress alone reads it into memory and runs out of heap.
 */
class ArchiveBombTest {
    private static final String CONTROL = "Package: bomb\nVersion: 1.0\nArchitecture: all\nDescription: x\n";

    @TempDir
    static Path bombs;
    static Path longName;
    static Path paxHeader;

    @TempDir
    Path tmp;

    @BeforeAll
    static void buildBombs() throws IOException {
        longName = bombs.resolve("long-name.tar.gz");
        try (RawTar tar = RawTar.gzip(longName)) {
            tar.longName(RawTar.HUGE);
        }
        paxHeader = bombs.resolve("pax-header.tar.gz");
        try (RawTar tar = RawTar.gzip(paxHeader)) {
            tar.paxHeader(RawTar.HUGE);
        }
    }

    @Test
    void bombsAreSmallFiles() throws IOException {
        assertTrue(Files.size(longName) < 2_000_000, "long-name bomb is " + Files.size(longName) + " bytes");
        assertTrue(Files.size(paxHeader) < 2_000_000, "PAX bomb is " + Files.size(paxHeader) + " bytes");
    }

    @Test
    void debWithALongNameBombInDataTarIsRefusedInASmallHeap() throws Exception {
        Path deb = deb(tmp.resolve("long-name.deb"), RawTar.tarGz("./control", CONTROL), longName);
        assertRefused("deb", deb, "data.tar.gz entry 1: GNU long name of " + RawTar.HUGE + " bytes is over the 65536-byte limit");
    }

    @Test
    void debWithAPaxBombInDataTarIsRefusedInASmallHeap() throws Exception {
        Path deb = deb(tmp.resolve("pax.deb"), RawTar.tarGz("./control", CONTROL), paxHeader);
        assertRefused("deb", deb, "data.tar.gz entry 1: PAX header of " + RawTar.HUGE + " bytes is over the 65536-byte limit");
    }

    @Test
    void debWithABombInControlTarIsRefusedInASmallHeap() throws Exception {
        Path deb = deb(tmp.resolve("control.deb"), Files.readAllBytes(paxHeader), paxHeader);
        assertRefused("deb", deb, "control.tar.gz entry 1: PAX header of " + RawTar.HUGE + " bytes is over the 65536-byte limit");
    }

    @Test
    void scriptBundleWithALongNameBombIsRefusedInASmallHeap() throws Exception {
        assertRefused("script", longName, "long-name.tar.gz: bundle entry 1: GNU long name of " + RawTar.HUGE
                + " bytes is over the 65536-byte limit");
    }

    @Test
    void scriptBundleWithAPaxBombIsRefusedInASmallHeap() throws Exception {
        assertRefused("script", paxHeader, "pax-header.tar.gz: bundle entry 1: PAX header of " + RawTar.HUGE
                + " bytes is over the 65536-byte limit");
    }

    @Test
    void scriptBundleWithTooManyEntriesIsRefusedInASmallHeap() throws Exception {
        Path bundle = tmp.resolve("entries.tar.gz");
        try (RawTar tar = RawTar.gzip(bundle)) {
            for (int i = 0; i <= 100_000; i++) {
                tar.entry("f/" + i, (byte) '0', new byte[0]);
            }
        }
        assertRefused("script", bundle, "entries.tar.gz: bundle has more than 100000 entries");
    }

    @Test
    void scriptBundleWithAnEndlessPaxSparseMapIsRefusedInASmallHeap() throws Exception {
        // PAX sparse format 1.0 keeps its map in the entry's data, and commons-compress reads it all,
        // however large the entry says it is: here 50 million empty chunks, 200 MB of "0\n0\n"
        Path bundle = tmp.resolve("sparse-map.tar.gz");
        long chunks = 50_000_000;
        byte[] prefix = (chunks + "\n").getBytes(StandardCharsets.US_ASCII);
        try (RawTar tar = RawTar.gzip(bundle)) {
            tar.entry("PaxHeaders/s", (byte) 'x', RawTar.paxRecord("GNU.sparse.realsize", "1"));
            tar.fill("s", (byte) '0', prefix.length + 4 * chunks, prefix, "0\n0\n".getBytes(StandardCharsets.US_ASCII));
        }
        assertRefused("script", bundle, "sparse-map.tar.gz: bundle entry 1: its headers take more than 278528 bytes, the limit for one entry");
    }

    @Test
    void debWhoseControlTarInflatesPastItsLimitIsRefusedInASmallHeap() throws Exception {
        Path control = tmp.resolve("control.tar.gz");
        try (RawTar tar = RawTar.gzip(control)) {
            tar.zeros("./md5sums", (byte) '0', 65L * 1024 * 1024, new byte[0]).file("./control", CONTROL);
        }
        Path data = tmp.resolve("data.tar.gz");
        try (RawTar tar = RawTar.gzip(data)) {
            tar.file("./opt/bomb/VERSION", "1.0\n");
        }
        Path deb = deb(tmp.resolve("inflating.deb"), Files.readAllBytes(control), data);
        assertRefused("deb", deb, "control.tar.gz holds more than 67108864 bytes uncompressed");
    }

    @Test
    void theSameLayoutWithAGoodPayloadIsRead() throws Exception {
        Path data = tmp.resolve("data.tar.gz");
        try (RawTar tar = RawTar.gzip(data)) {
            String deep = "./opt/bomb/" + "long/".repeat(60);
            tar.entry("././@LongLink", (byte) 'L', (deep + "VERSION").getBytes(StandardCharsets.UTF_8)).file("x", "1.0\n");
            tar.entry("PaxHeaders/y", (byte) 'x', RawTar.paxRecord("path", deep + "README")).file("y", "read me\n");
        }
        Path deb = deb(tmp.resolve("good.deb"), RawTar.tarGz("./control", CONTROL), data);
        SmallHeap.Result r = SmallHeap.inspect("deb", deb);
        assertEquals(SmallHeap.READ, r.exitCode(), r.output());
        assertTrue(r.output().contains("read bomb 1.0"), r.output());
    }

    private static void assertRefused(String format, Path file, String expected) throws Exception {
        SmallHeap.Result r = SmallHeap.inspect(format, file);
        assertEquals(SmallHeap.REFUSED, r.exitCode(), r.output());
        assertTrue(r.output().contains(expected), r.output());
    }

    /** A .deb in the ar layout dpkg-deb writes, with {@code data} streamed from its file. */
    static Path deb(Path file, byte[] controlTarGz, Path data) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write("!<arch>\n".getBytes(StandardCharsets.US_ASCII));
            member(out, "debian-binary", 4);
            out.write("2.0\n".getBytes(StandardCharsets.US_ASCII));
            member(out, "control.tar.gz", controlTarGz.length);
            out.write(controlTarGz);
            if (controlTarGz.length % 2 == 1) {
                out.write('\n');
            }
            long size = Files.size(data);
            member(out, "data.tar.gz", size);
            try (InputStream in = Files.newInputStream(data)) {
                in.transferTo(out);
            }
            if (size % 2 == 1) {
                out.write('\n');
            }
        }
        return file;
    }

    private static void member(OutputStream out, String name, long size) throws IOException {
        out.write(String.format("%-16s%-12s%-6s%-6s%-8s%-10s`\n", name, "0", "0", "0", "100644", size).getBytes(StandardCharsets.US_ASCII));
    }
}
