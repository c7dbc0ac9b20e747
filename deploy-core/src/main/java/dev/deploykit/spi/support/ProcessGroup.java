package dev.deploykit.spi.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The argv pieces every transport uses to run a command as its own process group and to end that
 * group: a {@code setsid} prefix (the command leads a new session, so a kill of the group reaches
 * children that detached from their parent), a {@code sudo -n -u USER --} prefix (never prompts),
 * and the {@code kill} of a whole group. Commands stay argv lists; nothing here builds a shell
 * string.
 *
 * <pre>{@code
 * List<String> argv = new ArrayList<>(ProcessGroup.newSessionPrefix());
 * argv.addAll(ProcessGroup.sudoPrefix("app"));
 * argv.addAll(command.argv());
 * Process p = new ProcessBuilder(argv).start();
 * ...
 * ProcessGroup.kill(p.pid());      // the group p leads, and p itself
 * }</pre>
 *
 * <p>Stateless and thread-safe.
 */
public final class ProcessGroup {
    /** Where Debian, Ubuntu and the RPM family install util-linux's {@code setsid}. */
    public static final Path SETSID = Path.of("/usr/bin/setsid");

    private ProcessGroup() {}

    /** True when this machine can start a command in a new session ({@code setsid} is installed). */
    public static boolean canStartSessions() {
        return Files.isExecutable(SETSID);
    }

    /** {@code [/usr/bin/setsid]} when this machine has it, else empty (the command then shares our group). */
    public static List<String> newSessionPrefix() {
        return canStartSessions() ? List.of(SETSID.toString()) : List.of();
    }

    /** {@code [sudo, -n, -u, user, --]}, or empty when {@code user} is null or empty (run as ourselves). */
    public static List<String> sudoPrefix(String user) {
        return user == null || user.isEmpty() ? List.of() : List.of("sudo", "-n", "-u", user, "--");
    }

    /**
     * The argv that sends SIGKILL to the process group led by {@code leader} and to {@code leader}
     * itself (when it is not a group leader, only the second reaches it). For a remote node, run it
     * through {@code env} so that a shell's builtin {@code kill} (dash's takes no {@code --}) is not used.
     */
    public static List<String> killCommand(long leader) {
        return List.of("kill", "-KILL", "--", "-" + leader, Long.toString(leader));
    }

    /** Kills the process group led by {@code leader} on this machine; falls back to killing the one process. */
    public static void kill(long leader) throws InterruptedException {
        try {
            new ProcessBuilder(killCommand(leader)).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            ProcessHandle.of(leader).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    /**
     * Kills {@code process}, the group it leads and every descendant still known, then waits up to
     * five seconds for it to end. Keeps the caller's interrupt flag.
     */
    public static void killTree(Process process) {
        List<ProcessHandle> descendants = process.descendants().toList();
        try {
            kill(process.pid());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        descendants.forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
