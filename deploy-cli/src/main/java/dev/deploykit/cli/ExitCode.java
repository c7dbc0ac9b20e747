package dev.deploykit.cli;

import dev.deploykit.DeploymentStatus;

/**
 * What {@code deploykit} exits with, so that a script can tell a failed rollout from a rolled-back
 * one, and both from a typo or an unreachable server. Listed in {@code docs/cli.md}.
 */
public enum ExitCode {
    /** The command did what it was asked; a deployment it watched SUCCEEDED. */
    SUCCEEDED(0),
    /** A deployment it watched FAILED. */
    FAILED(1),
    /** Bad input: a usage error, a bad plan or inventory file, an unknown id, a request the server refused (4xx). */
    BAD_INPUT(2),
    /** A deployment it watched was ROLLED_BACK. */
    ROLLED_BACK(3),
    /** A deployment it watched was CANCELLED. */
    CANCELLED(4),
    /** The server cannot be reached or failed (5xx), or the token was refused (401, 403). */
    UNAVAILABLE(5);

    private final int code;

    ExitCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /**
     * The exit code for a deployment that ended in {@code status}; a deployment that is not over
     * (watching stopped early) is {@link #FAILED}, since it did not succeed.
     */
    public static ExitCode of(DeploymentStatus status) {
        return switch (status) {
            case SUCCEEDED -> SUCCEEDED;
            case ROLLED_BACK -> ROLLED_BACK;
            case CANCELLED -> CANCELLED;
            case FAILED, PLANNED, RUNNING, PAUSED -> FAILED;
        };
    }

    /** The exit code for an HTTP error status from the server. */
    public static ExitCode ofHttpStatus(int status) {
        return status == 401 || status == 403 || status >= 500 ? UNAVAILABLE : BAD_INPUT;
    }
}
