package dev.deploykit;

import java.util.regex.Pattern;

/** A blob addressed by its SHA-256 digest (64 lowercase hex digits) with its size in bytes. */
public record Artifact(String sha256, long size) {
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    public Artifact {
        if (sha256 == null || !HEX64.matcher(sha256).matches()) {
            throw new IllegalArgumentException("sha256 must be 64 lowercase hex digits, but was " + sha256);
        }
        if (size < 0) {
            throw new IllegalArgumentException("artifact size must be >= 0, but was " + size);
        }
    }
}
