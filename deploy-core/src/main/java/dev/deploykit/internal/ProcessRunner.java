package dev.deploykit.internal;

import dev.deploykit.Command;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.OutputListener;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@link Command} on this machine as an argv list, in its own session (via {@code setsid})
 * so that a timeout or cancellation kills the whole process group, including children that detached
 * from the parent. Output goes through {@link LineSink}s, a line at a time, from reader threads.
 *
 * <p>Thread-safe and stateless; one call per command.
 */
public final class ProcessRunner {
    /** stderr lines kept for error messages. */
    public static final int STDERR_TAIL_LINES = 20;
    private static final Path SETSID = Path.of("/usr/bin/setsid");

    private ProcessRunner() {}

    /**
     * Runs {@code command}; its cwd defaults to {@code defaultCwd}. Interrupting the calling thread
     * kills the process group and throws {@link InterruptedException} with the flag cleared.
     */
    public static ExecResult run(Command command, Path defaultCwd, OutputListener output) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>();
        boolean ownSession = Files.isExecutable(SETSID);
        if (ownSession) {
            argv.add(SETSID.toString());
        }
        if (command.runAs() != null) {
            argv.addAll(List.of("sudo", "-n", "-u", command.runAs(), "--"));
        }
        argv.addAll(command.argv());
        ProcessBuilder pb = new ProcessBuilder(argv)
                .directory(command.cwd() != null ? new File(command.cwd()) : defaultCwd.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().putAll(command.env());
        long start = System.nanoTime();
        Process process = pb.start();
        Object lock = new Object();
        LineSink stderr = new LineSink("stderr", output, lock, STDERR_TAIL_LINES);
        Thread out = pump(process.getInputStream(), new LineSink("stdout", output, lock, 0));
        Thread err = pump(process.getErrorStream(), stderr);
        boolean finished;
        try {
            finished = process.waitFor(command.timeoutOr(Command.DEFAULT_TIMEOUT).toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            killTree(process, ownSession);
            joinQuietly(out, err);
            throw e;
        }
        if (!finished) {
            killTree(process, ownSession);
        }
        joinQuietly(out, err);
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        return new ExecResult(finished ? process.exitValue() : -1, !finished, stderr.tail(), took);
    }

    /** Kills the process, its process group and any descendant still known, then waits for it. */
    static void killTree(Process process, boolean ownSession) {
        List<ProcessHandle> descendants = process.descendants().toList();
        if (ownSession) {
            try {
                new ProcessBuilder("kill", "-KILL", "--", "-" + process.pid())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start().waitFor(5, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException e) {
                // fall through to the per-process kill below
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        descendants.forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Thread pump(InputStream in, LineSink sink) {
        Thread t = new Thread(() -> {
            try (in; sink) {
                in.transferTo(sink);
            } catch (IOException ignored) {
                // the process was killed and its pipe closed
            }
        }, "exec-pump");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void joinQuietly(Thread... threads) {
        for (Thread t : threads) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
