package dev.deploykit;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One process to run on a node: an argv list (never a shell string), extra environment, working
 * directory, timeout, and an optional user to run as (through {@code sudo -n -u}).
 *
 * <pre>{@code
 * Command.of("systemctl", "restart", "app").withTimeout(Duration.ofSeconds(30))
 * }</pre>
 *
 * <p>When the timeout passes, the transport kills the process and everything it started.
 *
 * @param cwd     working directory on the node, or null for the transport's default
 * @param timeout how long it may run, or null for the plan's step timeout ({@link #DEFAULT_TIMEOUT}
 *                outside a plan)
 * @param runAs   user to run as, or null for the transport's user
 */
public record Command(List<String> argv, Map<String, String> env, String cwd, Duration timeout, String runAs) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    public Command {
        if (argv == null || argv.isEmpty()) {
            throw new IllegalArgumentException("command argv must not be empty");
        }
        argv = List.copyOf(argv);
        env = Map.copyOf(env);
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("command timeout must be positive, but was " + timeout);
        }
    }

    public static Command of(String... argv) {
        return new Command(List.of(argv), Map.of(), null, null, null);
    }

    public static Command of(List<String> argv) {
        return new Command(argv, Map.of(), null, null, null);
    }

    /**
     * A POSIX shell script body, run as {@code /bin/sh -c body}. The body is the caller's own
     * script; pass untrusted values as {@code args}, which arrive as {@code $1, $2...} untouched.
     */
    public static Command shell(String body, String... args) {
        List<String> argv = new java.util.ArrayList<>(List.of("/bin/sh", "-c", body, "sh"));
        argv.addAll(List.of(args));
        return of(argv);
    }

    /** The timeout, or {@code fallback} when none was set. */
    public Duration timeoutOr(Duration fallback) {
        return timeout != null ? timeout : fallback;
    }

    public Command withTimeout(Duration newTimeout) {
        return new Command(argv, env, cwd, newTimeout, runAs);
    }

    public Command withEnv(Map<String, String> newEnv) {
        return new Command(argv, newEnv, cwd, timeout, runAs);
    }

    public Command withCwd(String newCwd) {
        return new Command(argv, env, newCwd, timeout, runAs);
    }

    public Command withRunAs(String user) {
        return new Command(argv, env, cwd, timeout, user);
    }

    @Override
    public String toString() {
        return String.join(" ", argv);
    }
}
