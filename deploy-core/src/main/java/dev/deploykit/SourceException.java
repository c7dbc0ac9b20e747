package dev.deploykit;

/**
 * A {@link dev.deploykit.spi.Source} could not give what was asked: {@link #reason()} says why, and
 * whether trying again may help ({@link Reason#UNREACHABLE} only). When publishing from a source
 * fails this way, nothing is published. Messages name the source and the ref, never a credential.
 */
public class SourceException extends DeployException {
    /** Why a source failed. */
    public enum Reason {
        /** The server could not be reached or stopped answering; retryable. */
        UNREACHABLE,
        /** There is no repository at the location (a wrong URL or path). */
        NO_REPOSITORY,
        /** The server refused the credentials, or needs some and none were given. */
        AUTHENTICATION,
        /** The server's SSH host key is unknown or has changed. */
        HOST_KEY,
        /** The ref names no branch, tag, commit or path. */
        UNKNOWN_REF,
        /** The revision holds what DeployKit will not ship (LFS pointers, a tree over the size limit, a link out of the tree). */
        REFUSED
    }

    private final String source;
    private final Reason reason;

    public SourceException(String source, Reason reason, String message, Throwable cause) {
        super(source + ": " + message, cause, reason == Reason.UNREACHABLE);
        this.source = source;
        this.reason = reason;
    }

    public SourceException(String source, Reason reason, String message) {
        this(source, reason, message, null);
    }

    /** The source's location. */
    public String source() {
        return source;
    }

    public Reason reason() {
        return reason;
    }
}
