package dev.deploykit.spi;

import java.time.Instant;
import java.util.Map;

/**
 * One revision of a {@link Source}, as resolved from a ref.
 *
 * @param ref     what was asked for, as the source spells it in full ({@code refs/tags/v2.3.1}, {@code trunk@42})
 * @param id      the revision's identity: a full commit id, a Subversion revision number
 * @param shortId a short form for people ({@code 1a2b3c4}, {@code r42})
 * @param version the bundle version derived from the revision, in Debian's grammar and ordered so that
 *                rollback moves to a lower version
 * @param author  who made the revision
 * @param time    when it was made
 * @param message its message, may be empty
 * @param notes   what else a user should know about the tree (submodules not shipped), by key; may be empty
 */
public record SourceRevision(String ref, String id, String shortId, String version, String author, Instant time, String message,
        Map<String, String> notes) {
    public SourceRevision {
        if (id == null || id.isBlank() || version == null || version.isBlank()) {
            throw new IllegalArgumentException("a source revision needs an id and a version, but was " + id + " " + version);
        }
        author = author == null ? "" : author;
        message = message == null ? "" : message;
        notes = Map.copyOf(notes);
    }

    /** The first line of the message. */
    public String subject() {
        int nl = message.indexOf('\n');
        return (nl < 0 ? message : message.substring(0, nl)).trim();
    }
}
