package dev.deploykit.spi.support;

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
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Runs a {@link Command} on this machine as an argv list, in its own session (via {@code setsid})
 * and with its own {@link StepProcesses} (a cgroup where the machine allows), so that a timeout or
 * cancellation kills every process it started, including children that detached from the session
 * or double-forked. The command ends when its main process ends: children still holding its output
 * pipes {@link #GRACE} later are killed, and a stderr line says so (this JVM stops reading a
 * process's pipes when it ends anyway, so what such a child writes later would be lost). Output goes through
 * {@link LineSink}s, a line at a time, from reader threads.
 *
 * <p>Thread-safe and stateless; one call per command.
 */
public final class ProcessRunner {
    /** stderr lines kept for error messages. */
    public static final int STDERR_TAIL_LINES = 20;
    /** How long children may keep a finished command's output open before they are killed. */
    public static final Duration GRACE = Duration.ofSeconds(2);

    private ProcessRunner() {}

    /**
     * Runs {@code command}; its cwd defaults to {@code defaultCwd}. Interrupting the calling thread
     * kills the command's processes and throws {@link InterruptedException} with the flag cleared.
     */
    public static ExecResult run(Command command, Path defaultCwd, OutputListener output) throws IOException, InterruptedException {
        try (StepProcesses step = StepProcesses.create("local-" + UUID.randomUUID())) {
            List<String> argv = new ArrayList<>(ProcessGroup.newSessionPrefix());
            argv.addAll(step.gatedPrefix());
            argv.addAll(ProcessGroup.sudoPrefix(command.runAs()));
            argv.addAll(command.argv());
            ProcessBuilder pb = new ProcessBuilder(argv)
                    .directory(command.cwd() != null ? new File(command.cwd()) : defaultCwd.toFile());
            pb.environment().putAll(command.env());
            pb.environment().putAll(step.environment());
            long start = System.nanoTime();
            Process process = pb.start();
            // while the gate holds the command back: the pipes its output goes to, which a child holding it holds
            Predicate<String> outputPipes = outputPipes(process.pid());
            process.getOutputStream().close();
            Object lock = new Object();
            LineSink stderr = new LineSink("stderr", output, lock, STDERR_TAIL_LINES);
            Thread out = pump(process.getInputStream(), new LineSink("stdout", output, lock, 0));
            Thread err = pump(process.getErrorStream(), stderr);
            boolean finished;
            try {
                finished = process.waitFor(command.timeoutOr(Command.DEFAULT_TIMEOUT).toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                kill(step, process);
                joinQuietly(out, err);
                throw e;
            }
            if (!finished) {
                kill(step, process);
            } else {
                Set<Long> holders;
                try {
                    holders = step.killHolders(process.pid(), outputPipes, GRACE);
                } catch (InterruptedException e) {
                    kill(step, process);
                    joinQuietly(out, err);
                    throw e;
                }
                if (!holders.isEmpty()) {
                    joinQuietly(out, err);
                    synchronized (lock) {
                        output.onLine("stderr", leftoverNote(holders));
                    }
                }
            }
            joinQuietly(out, err);
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            return new ExecResult(finished ? process.exitValue() : -1, !finished, stderr.tail(), took);
        }
    }

    /** The line a command's output gets when processes it left running held its output open and were killed. */
    public static String leftoverNote(Set<Long> killed) {
        return "deploykit: the step ended, but " + killed.size() + " process(es) it started kept its output open for "
                + GRACE.toSeconds() + " s and were killed: " + killed;
    }

    private static void kill(StepProcesses step, Process process) {
        step.killAll(process.pid());
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Matches the pipes {@code pid}'s stdout and stderr go to (nothing without {@code /proc}). */
    private static Predicate<String> outputPipes(long pid) {
        Set<String> pipes = new HashSet<>();
        for (int fd = 1; fd <= 2; fd++) {
            try {
                pipes.add(Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "fd", Integer.toString(fd))).toString());
            } catch (IOException e) {
                // no /proc
            }
        }
        return pipes::contains;
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
