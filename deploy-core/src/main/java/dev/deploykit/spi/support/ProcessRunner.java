package dev.deploykit.spi.support;

import dev.deploykit.Command;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.OutputListener;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
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

    private ProcessRunner() {}

    /**
     * Runs {@code command}; its cwd defaults to {@code defaultCwd}. Interrupting the calling thread
     * kills the process group and throws {@link InterruptedException} with the flag cleared.
     */
    public static ExecResult run(Command command, Path defaultCwd, OutputListener output) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(ProcessGroup.newSessionPrefix());
        argv.addAll(ProcessGroup.sudoPrefix(command.runAs()));
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
            ProcessGroup.killTree(process);
            joinQuietly(out, err);
            throw e;
        }
        if (!finished) {
            ProcessGroup.killTree(process);
        }
        joinQuietly(out, err);
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        return new ExecResult(finished ? process.exitValue() : -1, !finished, stderr.tail(), took);
    }

    private static Thread pump(InputStream in, LineSink sink) {
        return DaemonThreads.start("exec-pump", () -> {
            try (in; sink) {
                in.transferTo(sink);
            } catch (IOException ignored) {
                // the process was killed and its pipe closed
            }
        });
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
