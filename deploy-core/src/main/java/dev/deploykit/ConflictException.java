package dev.deploykit;

/**
 * An operation conflicts with the current state of what it names: a server or group that is already
 * registered, a package still installed or used by an unfinished deployment, a control action on a
 * deployment that is not in a state that allows it, a deployment owned by another controller. Not
 * retryable as is: the state has to change first. {@link #kind()} and {@link #id()} name the thing in
 * conflict (a REST API answers 409).
 *
 * <p>Malformed arguments are {@link IllegalArgumentException}s.
 */
public class ConflictException extends DeployException {
    private final String kind;
    private final String id;

    public ConflictException(String kind, String id, String message) {
        super(message);
        this.kind = kind;
        this.id = id;
    }

    /** What kind of thing is in conflict: {@code server}, {@code group}, {@code package}, {@code deployment}. */
    public String kind() {
        return kind;
    }

    /** Its id or name. */
    public String id() {
        return id;
    }
}
