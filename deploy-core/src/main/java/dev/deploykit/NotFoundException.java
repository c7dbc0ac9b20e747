package dev.deploykit;

/**
 * An operation named something that does not exist: a server, group, package version or deployment
 * that was never registered, or was removed. Not retryable: the same call fails the same way until
 * the thing is created. {@link #kind()} and {@link #id()} say what was missing, for callers that map
 * errors (a REST API answers 404).
 *
 * <p>Malformed arguments (an id with spaces, a negative size) are {@link IllegalArgumentException}s.
 */
public class NotFoundException extends DeployException {
    private final String kind;
    private final String id;

    public NotFoundException(String kind, String id) {
        super("unknown " + kind + " '" + id + "'");
        this.kind = kind;
        this.id = id;
    }

    /** What kind of thing was missing: {@code server}, {@code group}, {@code package}, {@code deployment}. */
    public String kind() {
        return kind;
    }

    /** The id, name (or {@code name version}) that was not found. */
    public String id() {
        return id;
    }
}
