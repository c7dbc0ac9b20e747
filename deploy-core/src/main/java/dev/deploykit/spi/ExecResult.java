package dev.deploykit.spi;

import java.time.Duration;

/**
 * How a command ended.
 *
 * @param exitCode   the process exit code; -1 when it was killed for its timeout or cancelled
 * @param timedOut   true when the timeout passed and the process tree was killed
 * @param stderrTail the last lines of stderr (at most a few KiB), for error messages
 * @param took       wall time
 */
public record ExecResult(int exitCode, boolean timedOut, String stderrTail, Duration took) {
    public boolean ok() {
        return exitCode == 0 && !timedOut;
    }
}
