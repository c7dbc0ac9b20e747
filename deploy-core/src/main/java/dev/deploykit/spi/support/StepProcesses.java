package dev.deploykit.spi.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Every process one step started on this machine, found again however it detached: children that
 * called {@code setsid}, double-forked daemons re-parented to init, processes that closed every
 * inherited fd. Where this machine has a writable cgroup hierarchy (v2, or v1's {@code pids}) the
 * step runs in a cgroup of its own, which no process leaves by forking; beside it (and instead of
 * it elsewhere) the step's processes are found in {@code /proc} by an environment marker they
 * inherit ({@link #MARKER}), by the session the step leads and by parent.
 *
 * <p>Use: {@link #create} before starting the step; start it with {@link #environment()} added and
 * with {@link #gatedPrefix()} (or, inside a wrapper script, an {@code echo $$} into
 * {@link #cgroupProcsFile()}) so that it joins the cgroup before it runs; {@link #killAll} on
 * cancel and timeout; {@link #close} when the step is over (it moves leftovers out and deletes the
 * cgroup). The same name finds the same processes from another JVM (an agent restarted after a
 * crash). Thread-safe.
 *
 * <pre>{@code
 * try (StepProcesses step = StepProcesses.create("local-" + UUID.randomUUID())) {
 *     List<String> argv = new ArrayList<>(ProcessGroup.newSessionPrefix());
 *     argv.addAll(step.gatedPrefix());
 *     argv.addAll(command.argv());
 *     ProcessBuilder pb = new ProcessBuilder(argv);
 *     pb.environment().putAll(step.environment());
 *     Process p = pb.start();
 *     p.getOutputStream().close(); // opens the gate
 *     if (!p.waitFor(10, TimeUnit.SECONDS)) {
 *         step.killAll(p.pid());
 *     }
 * }
 * }</pre>
 */
public final class StepProcesses implements AutoCloseable {
    /** The environment variable every process of a step inherits, set to the step's name. */
    public static final String MARKER = "DEPLOYKIT_STEP";
    /** Set to {@code off} to use only {@code /proc} (for tests of that path, and nodes where cgroups misbehave). */
    public static final String CGROUPS_PROPERTY = "deploykit.cgroups";
    private static final Path PROC = Path.of("/proc");
    private final String name;
    /** This step's cgroup directory; null when this machine gives us none. */
    private final Path cgroup;

    private StepProcesses(String name, Path cgroup) {
        this.name = name;
        this.cgroup = cgroup;
    }

    /**
     * The processes of step {@code name} (letters, digits, {@code . _ -}), with a cgroup made for it
     * when this machine allows, or the existing one of that name.
     */
    public static StepProcesses create(String name) {
        if (!name.matches("[A-Za-z0-9._-]{1,200}") || name.startsWith(".")) {
            throw new IllegalArgumentException("step name '" + name + "' must be letters, digits, '.', '_' or '-'");
        }
        return new StepProcesses(name, cgroupFor(name));
    }

    private static Path cgroupFor(String name) {
        if ("off".equals(System.getProperty(CGROUPS_PROPERTY))) {
            return null;
        }
        for (Path base : List.of(Path.of("/sys/fs/cgroup"), Path.of("/sys/fs/cgroup/unified"), Path.of("/sys/fs/cgroup/pids"))) {
            if (!Files.isRegularFile(base.resolve("cgroup.procs"))) {
                continue;
            }
            try {
                Path dir = base.resolve("deploykit").resolve(name);
                Files.createDirectories(dir);
                if (Files.isWritable(dir.resolve("cgroup.procs"))) {
                    return dir;
                }
            } catch (IOException | UnsupportedOperationException e) {
                // not ours to write: try the next hierarchy, else /proc alone
            }
        }
        return null;
    }

    public String name() {
        return name;
    }

    /** True when the step has a cgroup of its own. */
    public boolean hasCgroup() {
        return cgroup != null;
    }

    /** The file a process writes its pid into to join the step's cgroup; null without one. */
    public Path cgroupProcsFile() {
        return cgroup == null ? null : cgroup.resolve("cgroup.procs");
    }

    /** Environment for the step's first process: {@link #MARKER}. */
    public Map<String, String> environment() {
        return Map.of(MARKER, name);
    }

    /**
     * Argv to put before the command so that it joins the cgroup (where there is one), then waits
     * for its stdin to close and runs the command, same pid (by {@code exec}), with stdin from
     * {@code /dev/null}. Start it with a piped stdin: until the caller closes that pipe nothing of
     * the step runs or ends, so the caller can look at the step's first process (such as which pipes
     * its output goes to) without racing it.
     */
    public List<String> gatedPrefix() {
        return List.of("/bin/sh", "-c", "[ -z \"$0\" ] || echo $$ > \"$0\" 2>/dev/null; read _; exec \"$@\" </dev/null",
                cgroup == null ? "" : cgroupProcsFile().toString());
    }

    /**
     * The step's live processes: its cgroup's, those carrying its marker, those in the session
     * {@code leader} leads and their descendants ({@code leader} 0: none), never this JVM.
     */
    public Set<Long> pids(long leader) {
        Set<Long> pids = new TreeSet<>();
        if (cgroup != null) {
            try {
                for (String line : Files.readAllLines(cgroup.resolve("cgroup.procs"))) {
                    if (!line.isBlank()) {
                        pids.add(Long.parseLong(line.trim()));
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // gone with its processes
            }
        }
        byte[] marker = (MARKER + "=" + name).getBytes(StandardCharsets.UTF_8);
        List<long[]> stats = new ArrayList<>();
        try (Stream<Path> all = Files.list(PROC)) {
            for (Path p : all.toList()) {
                String file = p.getFileName().toString();
                if (!file.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                long pid = Long.parseLong(file);
                long[] stat = stat(pid);
                if (stat == null) {
                    continue;
                }
                stats.add(stat);
                if ((leader > 0 && stat[2] == leader) || hasMarker(p.resolve("environ"), marker)) {
                    pids.add(pid);
                }
            }
        } catch (IOException e) {
            // no /proc: only the cgroup's
        }
        if (leader > 0 && ProcessHandle.of(leader).isPresent()) {
            pids.add(leader);
        }
        // descendants of what was found: a child that closed its environment still has a parent
        boolean grew = true;
        while (grew) {
            grew = false;
            for (long[] stat : stats) {
                if (pids.contains(stat[1]) && pids.add(stat[0])) {
                    grew = true;
                }
            }
        }
        pids.remove(ProcessHandle.current().pid());
        return pids;
    }

    /** {@code [pid, ppid, session]} from {@code /proc/<pid>/stat}, null when it is gone or a zombie. */
    private static long[] stat(long pid) {
        try {
            String stat = Files.readString(PROC.resolve(Long.toString(pid)).resolve("stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            if (f[0].equals("Z")) {
                return null;
            }
            return new long[] {pid, Long.parseLong(f[1]), Long.parseLong(f[3])};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static boolean hasMarker(Path environ, byte[] marker) {
        byte[] env;
        try {
            env = Files.readAllBytes(environ);
        } catch (IOException e) {
            return false;
        }
        outer:
        for (int start = 0; start + marker.length <= env.length; ) {
            for (int i = 0; i < marker.length; i++) {
                if (env[start + i] != marker[i]) {
                    int end = start;
                    while (end < env.length && env[end] != 0) {
                        end++;
                    }
                    start = end + 1;
                    continue outer;
                }
            }
            if (start + marker.length == env.length || env[start + marker.length] == 0) {
                return true;
            }
            start += marker.length;
        }
        return false;
    }

    /**
     * Those of {@code pids} that have a file descriptor open on something {@code target} accepts
     * (the link text of {@code /proc/<pid>/fd/<n>}, such as a path or {@code pipe:[1234]}).
     */
    public static Set<Long> holding(Set<Long> pids, Predicate<String> target) {
        Set<Long> holders = new TreeSet<>();
        for (long pid : pids) {
            try (Stream<Path> fds = Files.list(PROC.resolve(Long.toString(pid)).resolve("fd"))) {
                if (fds.anyMatch(fd -> {
                    try {
                        return target.test(Files.readSymbolicLink(fd).toString());
                    } catch (IOException e) {
                        return false;
                    }
                })) {
                    holders.add(pid);
                }
            } catch (IOException e) {
                // gone
            }
        }
        return holders;
    }

    /**
     * For a step whose main process ended: waits up to {@code grace} for the step's processes that
     * hold something {@code target} accepts (its output) to let go, then kills those still holding
     * it. Returns the pids killed (usually none). A process the step left running that does not hold
     * its output (a daemon with its own log) is left alone.
     */
    public Set<Long> killHolders(long leader, Predicate<String> target, Duration grace) throws InterruptedException {
        long deadline = System.nanoTime() + grace.toNanos();
        Set<Long> holders;
        while (!(holders = holding(pids(leader), target)).isEmpty() && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(50);
        }
        kill(holders);
        return holders;
    }

    /**
     * Sends SIGKILL to every process of the step ({@link #pids}) until none is left (forks racing
     * the kill are caught by the next round); with cgroup v2, {@code cgroup.kill} first. Returns the
     * pids killed. Keeps the caller's interrupt flag.
     */
    public Set<Long> killAll(long leader) {
        if (cgroup != null && Files.exists(cgroup.resolve("cgroup.kill"))) {
            try {
                Files.writeString(cgroup.resolve("cgroup.kill"), "1");
            } catch (IOException e) {
                // kill them one by one below
            }
        }
        Set<Long> killed = new TreeSet<>();
        for (int round = 0; round < 20; round++) {
            Set<Long> left = pids(leader);
            if (round > 0) {
                left.removeIf(pid -> !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
            }
            if (left.isEmpty()) {
                break;
            }
            kill(left);
            killed.addAll(left);
            sleep(20);
        }
        return killed;
    }

    /** SIGKILL to each of {@code pids}. */
    public static void kill(Set<Long> pids) {
        pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    private static void sleep(long millis) {
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Deletes the step's cgroup; processes still in it (a daemon the step meant to leave running) are
     * moved to the hierarchy's root first, so nothing is killed here.
     */
    @Override
    public void close() {
        if (cgroup == null || !Files.isDirectory(cgroup)) {
            return;
        }
        Path rootProcs = cgroup.getParent().getParent().resolve("cgroup.procs");
        for (int attempt = 0; attempt < 50; attempt++) {
            try {
                for (String line : Files.readAllLines(cgroup.resolve("cgroup.procs"))) {
                    if (!line.isBlank()) {
                        Files.writeString(rootProcs, line.trim());
                    }
                }
                Files.delete(cgroup);
                return;
            } catch (IOException e) {
                // a process still exiting keeps it busy for a moment
                sleep(20);
            }
        }
    }
}
