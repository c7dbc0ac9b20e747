package dev.deploykit.source.vcs;

import dev.deploykit.SourceException;

/**
 * Bounds an export: the bytes and entries a tree may have, checked as it is written, so that a
 * huge revision stops with a clear error instead of filling the controller's disk. Not thread-safe:
 * one per export.
 */
final class TreeBudget {
    private final String source;
    private final long maxBytes;
    private final int maxEntries;
    private long bytes;
    private int entries;

    TreeBudget(String source, long maxBytes, int maxEntries) {
        this.source = source;
        this.maxBytes = maxBytes;
        this.maxEntries = maxEntries;
    }

    /** Counts one entry of {@code size} bytes at {@code path}. */
    void add(String path, long size) {
        bytes += size;
        entries++;
        if (bytes > maxBytes) {
            throw new SourceException(source, SourceException.Reason.REFUSED, "the tree is over " + maxBytes
                    + " bytes at " + path + " (maxTreeBytes); raise the limit or ship less");
        }
        if (entries > maxEntries) {
            throw new SourceException(source, SourceException.Reason.REFUSED, "the tree has over " + maxEntries + " entries (maxTreeEntries)");
        }
    }
}
