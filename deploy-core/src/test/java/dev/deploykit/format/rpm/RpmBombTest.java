package dev.deploykit.format.rpm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.PackageFormatException;
import dev.deploykit.format.SmallHeap;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile rpm headers. RpmFormat never unpacks the payload (it only streams it through SHA-256), so
 * the header is what a hostile rpm can aim at: its data store is read into memory, and its file list
 * is walked. Files are written by hand: lead, signature header, main header, no payload.
 */
class RpmBombTest {
    private static final int STRING = 6;
    private static final int INT32 = 4;
    private static final int STRING_ARRAY = 8;

    @TempDir
    Path tmp;

    @Test
    void aHeaderClaimingMoreDataThanTheLimitIsRefusedInASmallHeap() throws Exception {
        long claimed = 200L * 1024 * 1024;
        Header h = new Header().string(RpmFormat.NAME_TAG, "bomb").string(RpmFormat.VERSION_TAG, "1.0").string(RpmFormat.RELEASE_TAG, "1");
        byte[] rpm = rpm(h);
        int mainHeader = rpm.length - h.size();
        ByteBuffer.wrap(rpm).putInt(mainHeader + 12, (int) claimed);
        Path file = Files.write(tmp.resolve("huge-header.rpm"), rpm);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(rpm.length + claimed); // sparse: the bytes the header claims are there, as zeros
        }
        SmallHeap.Result r = SmallHeap.inspect("rpm", file);
        assertEquals(SmallHeap.REFUSED, r.exitCode(), r.output());
        assertTrue(r.output().contains("header claims " + claimed + " data bytes, over the 33554432-byte limit"), r.output());
    }

    @Test
    void millionsOfFilesInOneLongDirAreCheckedInASmallHeap() throws Exception {
        int files = 2_000_000;
        ByteBuffer indexes = ByteBuffer.allocate(4 * files);
        Header h = new Header().string(RpmFormat.NAME_TAG, "many").string(RpmFormat.VERSION_TAG, "1.0").string(RpmFormat.RELEASE_TAG, "1")
                .strings(RpmFormat.DIRNAMES_TAG, List.of("/" + "d".repeat(4000) + "/"))
                .raw(RpmFormat.BASENAMES_TAG, STRING_ARRAY, "a\0".repeat(files).getBytes(StandardCharsets.US_ASCII), files)
                .raw(RpmFormat.DIRINDEXES_TAG, INT32, indexes.array(), files);
        Path file = Files.write(tmp.resolve("many.rpm"), rpm(h));
        SmallHeap.Result r = SmallHeap.inspect("rpm", file);
        assertEquals(SmallHeap.READ, r.exitCode(), r.output());
        assertTrue(r.output().contains("read many 1.0-1"), r.output());
    }

    @Test
    void aDirNameThatDecodesToMoreBytesCannotHideTheNextOne() throws Exception {
        // each "\xe2\x82" decodes to U+FFFD, three bytes when encoded again: a reader that steps by the
        // re-encoded length lands inside the next dir name and sees "/x/" where rpm sees "/../x/"
        byte[] dirs = concat(new byte[] {'/', (byte) 0xe2, (byte) 0x82, (byte) 0xe2, (byte) 0x82, (byte) 0xe2, (byte) 0x82, 0},
                "/../x/\0".getBytes(StandardCharsets.US_ASCII));
        Header h = new Header().string(RpmFormat.NAME_TAG, "hidden").string(RpmFormat.VERSION_TAG, "1.0").string(RpmFormat.RELEASE_TAG, "1")
                .raw(RpmFormat.DIRNAMES_TAG, STRING_ARRAY, dirs, 2)
                .strings(RpmFormat.BASENAMES_TAG, List.of("passwd"))
                .raw(RpmFormat.DIRINDEXES_TAG, INT32, ByteBuffer.allocate(4).putInt(1).array(), 1);
        Path file = Files.write(tmp.resolve("hidden.rpm"), rpm(h));
        PackageFormatException e = assertThrows(PackageFormatException.class, () -> RpmFormat.create().inspect(file));
        assertTrue(e.getMessage().contains("'/../x/passwd' is relative or contains '..'"), e.getMessage());
    }

    /** Lead, a one-tag signature header, padding, then {@code main}. */
    private static byte[] rpm(Header main) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer lead = ByteBuffer.allocate(96);
        lead.put(new byte[] {(byte) 0xed, (byte) 0xab, (byte) 0xee, (byte) 0xdb, 3, 0}).putShort((short) 0).putShort((short) 1);
        lead.put("bomb".getBytes(StandardCharsets.US_ASCII)).position(88);
        lead.putShort((short) 1).putShort((short) 5);
        out.write(lead.array());
        byte[] signature = new Header().string(269, "x").bytes();
        out.write(signature);
        out.write(new byte[(8 - signature.length % 8) % 8]);
        out.write(main.bytes());
        return out.toByteArray();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = new byte[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    /** An rpm header structure: index entries and data store. */
    private static final class Header {
        private record Tag(int tag, int type, int offset, int count) {}

        private final List<Tag> tags = new ArrayList<>();
        private final ByteArrayOutputStream data = new ByteArrayOutputStream();

        Header string(int tag, String value) {
            return raw(tag, STRING, (value + "\0").getBytes(StandardCharsets.UTF_8), 1);
        }

        Header strings(int tag, List<String> values) {
            return raw(tag, STRING_ARRAY, (String.join("\0", values) + "\0").getBytes(StandardCharsets.UTF_8), values.size());
        }

        Header raw(int tag, int type, byte[] bytes, int count) {
            if (type == INT32) {
                data.write(new byte[(4 - data.size() % 4) % 4], 0, (4 - data.size() % 4) % 4);
            }
            tags.add(new Tag(tag, type, data.size(), count));
            data.write(bytes, 0, bytes.length);
            return this;
        }

        int size() {
            return 16 + 16 * tags.size() + data.size();
        }

        byte[] bytes() {
            ByteBuffer b = ByteBuffer.allocate(size());
            b.putInt(0x8eade801).putInt(0).putInt(tags.size()).putInt(data.size());
            for (Tag t : tags) {
                b.putInt(t.tag()).putInt(t.type()).putInt(t.offset()).putInt(t.count());
            }
            b.put(data.toByteArray());
            return b.array();
        }
    }
}
