package dev.deploykit.transport.ssh;

import dev.deploykit.Command;
import dev.deploykit.spi.support.ProcessGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Turns a {@link Command} into the one string SSH carries, for the remote user's POSIX shell. Every
 * argv element, env value and path is single-quoted, so it arrives as one literal word whatever it
 * contains. The command runs in a new session ({@code setsid}, when the node has it) and first
 * prints {@code DKPID <pid>} on stderr, so a timeout or cancel can kill its whole process group.
 */
final class RemoteCommand {
    static final String PID_MARKER = "DKPID ";

    private RemoteCommand() {}

    /** POSIX single-quoting: {@code it's} becomes {@code 'it'\''s'}. */
    static String quote(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }

    static String join(List<String> words) {
        List<String> quoted = new ArrayList<>(words.size());
        words.forEach(w -> quoted.add(quote(w)));
        return String.join(" ", quoted);
    }

    /**
     * The remote command line. {@code sudoUser} non-null runs it through {@code sudo -n -u}; the
     * working directory defaults to the login directory.
     */
    static String render(Command command, String sudoUser) {
        List<String> inner = new ArrayList<>(ProcessGroup.sudoPrefix(sudoUser));
        inner.add("/bin/sh");
        inner.add("-c");
        inner.add("echo \"" + PID_MARKER + "$$\" >&2; if [ -n \"$1\" ]; then cd -- \"$1\" || exit 126; fi; shift; exec \"$@\"");
        inner.add("dk");
        inner.add(command.cwd() == null ? "" : command.cwd());
        if (!command.env().isEmpty()) {
            inner.add("env");
            new TreeMap<>(command.env()).forEach((k, v) -> inner.add(k + "=" + v));
        }
        inner.addAll(command.argv());
        // setsid makes the shell a process group leader, so its pid is the group to kill; -w waits
        // for it (setsid forks when the login shell already leads its group) and passes its status.
        return "if command -v setsid >/dev/null 2>&1; then exec setsid -w " + join(inner) + "; else exec " + join(inner) + "; fi";
    }

    /** A command that kills the process group {@code pid} started by {@link #render}. */
    static String kill(long pid, String sudoUser) {
        List<String> argv = new ArrayList<>(ProcessGroup.sudoPrefix(sudoUser));
        // env runs the kill binary: some shells' builtin kill (dash) does not take "--" before a negative pid
        argv.add("env");
        argv.addAll(ProcessGroup.killCommand(pid));
        return join(argv) + " 2>/dev/null; true";
    }
}
