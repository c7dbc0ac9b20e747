package dev.deploykit.agent;

import dev.deploykit.spi.support.LineSink;
import dev.deploykit.spi.support.ProcessGroup;
import dev.deploykit.spi.support.ProcessRunner;
import dev.deploykit.spi.support.StepProcesses;
import dev.deploykit.transport.grpc.proto.Exec;
import dev.deploykit.transport.grpc.proto.TaskResult;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.Stream;

/**
 * Runs exec steps with a journal, so that a task id is never run twice. Each task gets
 * {@code <state>/journal/<task-id>/} with {@code pid}, {@code out}, {@code err} and, once it ended,
 * {@code exit}; the state dir and the journal's dirs are 0700 and its files 0600, as step output may
 * hold secrets. The step runs under a small {@code sh} wrapper in its own session ({@code setsid}):
 * the wrapper writes the output files and records the exit code itself, so a step outlives an agent
 * crash and its result is still recorded. Each step has its own {@link StepProcesses} (a cgroup the
 * wrapper joins first, where the node allows), so a cancel or timeout kills every process it started;
 * processes still holding its output files {@link ProcessRunner#GRACE} after it ended are killed too. Output reaches the controller by tailing the files, so a
 * chatty step fills a disk file, not the agent's memory; its lines are numbered, so what a broken
 * connection lost is sent again from the files (while the step runs, and when answered from the
 * journal).
 *
 * <p>Asked to run a task again: a recorded result is answered from the journal; a step still running
 * is waited for; a step whose wrapper vanished without a result is reported as failed, not re-run.
 */
final class StepRunner {
    /**
     * Records its own pid before the step runs (so any side effect of the step implies a pid file),
     * runs the step with its output in files, then records the exit code atomically. The journal
     * files are created under umask 077; the step itself runs under umask 022, as under systemd's
     * default, so what it installs is readable as before even though the agent's unit sets UMask=0077.
     */
    private static final String WRAPPER = "umask 077; o=$1; e=$2; x=$3; p=$4; g=$5; shift 5; [ -z \"$g\" ] || echo $$ > \"$g\" 2>/dev/null; "
            + "echo $$ > \"$p.tmp\" && mv \"$p.tmp\" \"$p\" || exit 125; "
            + "(umask 022; exec \"$@\") >\"$o\" 2>\"$e\" </dev/null; c=$?; echo \"$c\" > \"$x.tmp\" && mv \"$x.tmp\" \"$x\"";
    private final Path journal;
    private final Path defaultCwd;
    private final Map<String, Long> running = new ConcurrentHashMap<>();
    private final Map<String, String> cancelled = new ConcurrentHashMap<>();

    StepRunner(Path stateDir, String installRoot) throws IOException {
        PrivateFiles.directory(stateDir);
        this.journal = PrivateFiles.directory(stateDir.resolve("journal"));
        this.defaultCwd = Path.of(installRoot);
        prune(Duration.ofDays(7));
    }

    /** A step's output line, numbered from 0 per task and stream. */
    interface NumberedOutput {
        void line(String stream, long index, String line);
    }

    /**
     * Where the controller wants a running task's output sent from again (after a reconnect: the
     * lines it has, per stream); the step's tail loop picks it up. Thread-safe.
     */
    static final class Rewind {
        private final AtomicLongArray from = new AtomicLongArray(new long[] {-1, -1});

        void request(long stdoutSeen, long stderrSeen) {
            from.set(0, stdoutSeen);
            from.set(1, stderrSeen);
        }

        long take(int stream) {
            return from.getAndSet(stream, -1);
        }
    }

    /**
     * Runs (or answers, from the journal) task {@code id}, sending its output lines from
     * {@code stdoutSeen}/{@code stderrSeen} on (the lines the controller already has), and again
     * from where {@code rewind} asks while it runs. The result counts the lines of each stream.
     */
    TaskResult run(String id, Exec exec, long stdoutSeen, long stderrSeen, NumberedOutput output, Rewind rewind)
            throws IOException, InterruptedException {
        Path dir = journal.resolve(safe(id));
        Path exit = dir.resolve("exit");
        Instant start = Instant.now();
        if (Files.exists(exit)) {
            try (Tail out = new Tail(dir.resolve("out"), "stdout", 0, stdoutSeen, output);
                    Tail err = new Tail(dir.resolve("err"), "stderr", ProcessRunner.STDERR_TAIL_LINES, stderrSeen, output)) {
                out.poll(rewind);
                err.poll(rewind);
                out.flush();
                err.flush();
                return counted(result(id, dir, start, err.tail()).toBuilder().setFromJournal(true), out, err);
            }
        }
        long pid;
        boolean fresh = !Files.exists(dir.resolve("pid"));
        StepProcesses step = StepProcesses.create(processesName(id));
        if (fresh) {
            PrivateFiles.directory(dir);
            pid = start(dir, exec, step);
        } else {
            pid = Long.parseLong(Files.readString(dir.resolve("pid")).trim());
            if (!alive(pid) && !Files.exists(exit)) {
                return TaskResult.newBuilder().setTaskId(id).setExitCode(-1)
                        .setError("the step was interrupted by an agent crash before it recorded a result; not run again").build();
            }
        }
        running.put(id, pid);
        long deadline = System.nanoTime() + Math.max(1, exec.getTimeoutMillis()) * 1_000_000L;
        try (Tail out = new Tail(dir.resolve("out"), "stdout", 0, stdoutSeen, output);
                Tail err = new Tail(dir.resolve("err"), "stderr", ProcessRunner.STDERR_TAIL_LINES, stderrSeen, output)) {
            String why = null;
            while (!Files.exists(exit)) {
                out.poll(rewind);
                err.poll(rewind);
                if (cancelled.containsKey(id)) {
                    why = "cancelled";
                } else if (System.nanoTime() > deadline) {
                    why = "timedout";
                } else if (!alive(pid)) {
                    Thread.sleep(50);
                    if (!Files.exists(exit)) {
                        why = "vanished";
                    }
                }
                if (why != null) {
                    step.killAll(pid);
                    PrivateFiles.writeString(exit, "-1 " + why + "\n");
                    break;
                }
                Thread.sleep(30);
            }
            if (why == null) {
                endLeftovers(dir, pid, step);
            }
            step.close();
            out.poll(rewind);
            err.poll(rewind);
            out.flush();
            err.flush();
            return counted(result(id, dir, start, err.tail()).toBuilder(), out, err);
        } finally {
            running.remove(id);
            cancelled.remove(id);
        }
    }

    private static TaskResult counted(TaskResult.Builder result, Tail out, Tail err) {
        return result.setStdoutLines(out.lines()).setStderrLines(err.lines()).build();
    }

    void cancel(String id) {
        if (running.containsKey(id)) {
            cancelled.put(id, "cancelled");
        }
    }

    /** Task ids whose steps are running now. */
    List<String> runningIds() {
        return new ArrayList<>(running.keySet());
    }

    /**
     * A step ends when its main process ends: processes it started that still hold its output files
     * {@link ProcessRunner#GRACE} later are killed, and its stderr says so.
     */
    private static void endLeftovers(Path dir, long pid, StepProcesses step) throws IOException, InterruptedException {
        Set<String> files = Set.of(dir.resolve("out").toRealPath().toString(), dir.resolve("err").toRealPath().toString());
        Set<Long> killed = step.killHolders(pid, files::contains, ProcessRunner.GRACE);
        if (!killed.isEmpty()) {
            Files.writeString(dir.resolve("err"), ProcessRunner.leftoverNote(killed) + "\n", StandardOpenOption.APPEND);
        }
    }

    /** The name of a task's processes: unique per state dir, the same after an agent restart. */
    private String processesName(String id) {
        return "agent-" + Integer.toHexString(journal.toString().hashCode()) + "-" + safe(id);
    }

    private long start(Path dir, Exec exec, StepProcesses step) throws IOException {
        List<String> argv = new ArrayList<>(ProcessGroup.newSessionPrefix());
        argv.addAll(List.of("/bin/sh", "-c", WRAPPER, "dk", dir.resolve("out").toString(), dir.resolve("err").toString(),
                dir.resolve("exit").toString(), dir.resolve("pid").toString(),
                step.hasCgroup() ? step.cgroupProcsFile().toString() : ""));
        argv.addAll(ProcessGroup.sudoPrefix(exec.getRunAs()));
        argv.addAll(exec.getArgvList());
        ProcessBuilder pb = new ProcessBuilder(argv)
                .directory(exec.getCwd().isEmpty() ? defaultCwd.toFile() : new File(exec.getCwd()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(exec.getEnvMap());
        pb.environment().putAll(step.environment());
        Process process = pb.start();
        // reap it when it ends so it does not linger as a zombie while this agent lives
        process.onExit();
        // the wrapper writes the pid file itself, before the step starts; wait for it so that a crash of
        // this agent can never leave a step that ran without a pid file (which would make it look unstarted)
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(dir.resolve("pid")) && process.isAlive() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return process.pid();
    }

    private TaskResult result(String id, Path dir, Instant start, String stderrTail) throws IOException {
        String[] exit = Files.readString(dir.resolve("exit")).trim().split(" ");
        int code = Integer.parseInt(exit[0]);
        boolean timedOut = exit.length > 1 && exit[1].equals("timedout");
        String tail = stderrTail != null ? stderrTail : lastLines(dir.resolve("err"), ProcessRunner.STDERR_TAIL_LINES);
        TaskResult.Builder r = TaskResult.newBuilder().setTaskId(id).setExitCode(code).setTimedOut(timedOut)
                .setStderrTail(tail).setTookMillis(Duration.between(start, Instant.now()).toMillis());
        if (exit.length > 1 && exit[1].equals("vanished")) {
            r.setError("the step's process disappeared without recording an exit code");
        }
        return r.build();
    }

    private static String lastLines(Path file, int n) throws IOException {
        if (!Files.exists(file)) {
            return "";
        }
        List<String> lines = new ArrayList<>();
        try (Stream<String> all = Files.lines(file, StandardCharsets.UTF_8)) {
            all.forEach(l -> {
                lines.add(l.length() > LineSink.MAX_LINE ? l.substring(0, LineSink.MAX_LINE) : l);
                if (lines.size() > n) {
                    lines.remove(0);
                }
            });
        }
        return String.join("\n", lines);
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
                && !zombie(pid);
    }

    private static boolean zombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException e) {
            return false;
        }
    }

    private void prune(Duration olderThan) throws IOException {
        long cutoff = System.currentTimeMillis() - olderThan.toMillis();
        try (Stream<Path> dirs = Files.list(journal)) {
            for (Path d : dirs.toList()) {
                if (Files.exists(d.resolve("exit")) && Files.getLastModifiedTime(d.resolve("exit")).toMillis() < cutoff) {
                    try (Stream<Path> files = Files.list(d)) {
                        for (Path f : files.toList()) {
                            Files.deleteIfExists(f);
                        }
                    }
                    Files.deleteIfExists(d);
                }
            }
        }
    }

    static String safe(String id) {
        if (!id.matches("[A-Za-z0-9._-]{1,128}") || id.startsWith(".")) {
            throw new IllegalArgumentException("task id '" + id + "' is not a safe file name");
        }
        return id;
    }

    /**
     * Follows an output file as it grows, numbering its lines from 0 and passing on those from
     * {@code from} on. Asked to send again from an earlier line, it reads the file again from the
     * start (lines are cut the same way every time, so the numbers stay the same).
     */
    private static final class Tail implements AutoCloseable {
        private final Path file;
        private final String stream;
        private final int tailLines;
        private final NumberedOutput output;
        private final byte[] buf = new byte[64 * 1024];
        private RandomAccessFile raf;
        private LineSink sink;
        private long next;
        private long from;

        Tail(Path file, String stream, int tailLines, long from, NumberedOutput output) {
            this.file = file;
            this.stream = stream;
            this.tailLines = tailLines;
            this.output = output;
            restart(from);
        }

        private void restart(long sendFrom) {
            next = 0;
            from = sendFrom;
            sink = new LineSink(stream, (s, line) -> {
                long index = next++;
                if (index >= from) {
                    output.line(s, index, line);
                }
            }, this, tailLines);
        }

        void poll(Rewind rewind) throws IOException {
            long again = rewind.take(stream.equals("stdout") ? 0 : 1);
            if (again >= 0 && again < next) {
                close();
                restart(again);
            }
            if (raf == null) {
                if (!Files.exists(file)) {
                    return;
                }
                raf = new RandomAccessFile(file.toFile(), "r");
            }
            int n;
            while ((n = raf.read(buf)) > 0) {
                sink.write(buf, 0, n);
            }
        }

        void flush() {
            sink.close();
        }

        long lines() {
            return next;
        }

        String tail() {
            return sink.tail();
        }

        @Override
        public void close() throws IOException {
            if (raf != null) {
                raf.close();
                raf = null;
            }
        }
    }
}
