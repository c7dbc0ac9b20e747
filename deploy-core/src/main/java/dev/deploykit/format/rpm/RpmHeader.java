package dev.deploykit.format.rpm;

import dev.deploykit.PackageFormatException;
import dev.deploykit.format.Bounded;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/** One rpm header structure (index entries plus data store), read with every bound checked. */
final class RpmHeader {
    private static final int STRING = 6;
    private static final int INT32 = 4;
    private static final int INT64 = 5;
    private static final int STRING_ARRAY = 8;
    private static final int I18NSTRING = 9;

    private record Entry(int type, int offset, int count) {}

    private final Map<Integer, Entry> entries;
    private final byte[] data;
    private final long size;

    private RpmHeader(Map<Integer, Entry> entries, byte[] data, long size) {
        this.entries = entries;
        this.data = data;
        this.size = size;
    }

    /** Bytes this header took in the file. */
    long size() {
        return size;
    }

    static RpmHeader read(DataInputStream in, long left, String what, int maxTags, int maxData) throws IOException {
        if (left < 16) {
            throw new PackageFormatException(what + " is truncated");
        }
        int magic = in.readInt();
        in.readInt();
        if (magic != 0x8eade801) {
            throw new PackageFormatException(what + " has wrong magic 0x" + Integer.toHexString(magic));
        }
        long tags = Integer.toUnsignedLong(in.readInt());
        long dataSize = Integer.toUnsignedLong(in.readInt());
        if (tags < 1 || tags > maxTags) {
            throw new PackageFormatException(what + " claims " + tags + " tags; rpm allows 1.." + maxTags);
        }
        long total = 16 + tags * 16 + dataSize;
        if (total > left) {
            throw new PackageFormatException(what + " claims " + total + " bytes but the file has only " + left + " left");
        }
        if (dataSize > maxData) {
            throw new PackageFormatException(what + " claims " + dataSize + " data bytes, over the " + maxData + "-byte limit");
        }
        byte[] index = Bounded.readExactly(in, tags * 16, (long) maxTags * 16, what + " index");
        byte[] store = Bounded.readExactly(in, dataSize, maxData, what + " data");
        ByteBuffer ix = ByteBuffer.wrap(index);
        Map<Integer, Entry> entries = new HashMap<>();
        for (int i = 0; i < tags; i++) {
            int tag = ix.getInt();
            int type = ix.getInt();
            int offset = ix.getInt();
            int count = ix.getInt();
            if (offset < 0 || offset > dataSize || count < 0 || count > dataSize + 1) {
                throw new PackageFormatException(what + " tag " + tag + " points outside its data (offset " + offset + ", count " + count + ")");
            }
            if ((type == STRING_ARRAY || type == I18NSTRING) && count > dataSize - offset) {
                throw new PackageFormatException(what + " tag " + tag + " claims " + count + " strings in " + (dataSize - offset) + " bytes");
            }
            entries.putIfAbsent(tag, new Entry(type, offset, count));
        }
        return new RpmHeader(entries, store, total);
    }

    Optional<String> string(int tag) {
        Entry e = entries.get(tag);
        if (e == null) {
            return Optional.empty();
        }
        if (e.type != STRING && e.type != I18NSTRING && e.type != STRING_ARRAY) {
            throw new PackageFormatException("tag " + tag + " has type " + e.type + ", expected a string");
        }
        return Optional.of(cString(e.offset, tag));
    }

    /** How many values the tag has; 0 when it is absent. */
    int count(int tag) {
        Entry e = entries.get(tag);
        return e == null ? 0 : e.count;
    }

    /**
     * Calls {@code action} with each string of the tag in order. The strings are not kept, so a tag of
     * millions of empty strings costs time, not memory.
     */
    void forEachString(int tag, Consumer<String> action) {
        Entry e = entries.get(tag);
        if (e == null) {
            return;
        }
        if (e.type != STRING_ARRAY && e.type != STRING && e.type != I18NSTRING) {
            throw new PackageFormatException("tag " + tag + " has type " + e.type + ", expected strings");
        }
        int at = e.offset;
        for (int i = 0; i < e.count; i++) {
            int end = stringEnd(at, tag);
            action.accept(new String(data, at, end - at, StandardCharsets.UTF_8));
            // the next string starts after this one's bytes, whatever they decode to
            at = end + 1;
        }
    }

    /** The tag's strings joined by {@code separator}; more than {@code maxChars} is refused. */
    String joined(int tag, String separator, int maxChars) {
        StringBuilder out = new StringBuilder();
        forEachString(tag, s -> {
            if (out.length() + separator.length() + s.length() > maxChars) {
                throw new PackageFormatException("tag " + tag + " joins to more than " + maxChars + " characters");
            }
            out.append(out.isEmpty() ? "" : separator).append(s);
        });
        return out.toString();
    }

    /** An INT32 or INT64 tag's first value, unsigned. */
    Optional<Long> number(int tag) {
        Entry e = entries.get(tag);
        if (e == null || e.count < 1) {
            return Optional.empty();
        }
        if (e.type == INT64 && (long) e.offset + 8 <= data.length) {
            return Optional.of(ByteBuffer.wrap(data, e.offset, 8).getLong());
        }
        return int32(tag).map(Integer::toUnsignedLong);
    }

    Optional<Integer> int32(int tag) {
        return count(tag) == 0 ? Optional.empty() : Optional.of(int32(tag, 0));
    }

    /** Value {@code i} of an INT32 tag. */
    int int32(int tag, int i) {
        Entry e = entries.get(tag);
        if (e == null || e.type != INT32 || (long) e.offset + 4L * e.count > data.length) {
            throw new PackageFormatException("tag " + tag + " is not a valid INT32 array");
        }
        if (i < 0 || i >= e.count) {
            throw new IndexOutOfBoundsException("value " + i + " of tag " + tag + " with " + e.count + " values");
        }
        return ByteBuffer.wrap(data).getInt(e.offset + 4 * i);
    }

    private String cString(int offset, int tag) {
        return new String(data, offset, stringEnd(offset, tag) - offset, StandardCharsets.UTF_8);
    }

    /** Where the NUL that ends the string at {@code offset} is. */
    private int stringEnd(int offset, int tag) {
        int end = offset;
        while (end < data.length && data[end] != 0) {
            end++;
        }
        if (end >= data.length) {
            throw new PackageFormatException("tag " + tag + " string runs past the end of the header");
        }
        return end;
    }
}
