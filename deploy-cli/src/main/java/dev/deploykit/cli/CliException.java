package dev.deploykit.cli;

/**
 * A command cannot go on: {@code deploykit} prints {@code deploykit: <message>} on stderr and exits
 * with {@link #exitCode()}.
 */
final class CliException extends RuntimeException {
    private final ExitCode exitCode;

    CliException(ExitCode exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    CliException(ExitCode exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    ExitCode exitCode() {
        return exitCode;
    }
}
