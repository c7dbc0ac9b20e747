package dev.deploykit.transport.ssh;

import dev.deploykit.Command;
import dev.deploykit.spi.support.ProcessGroup;
import dev.deploykit.spi.support.StepProcesses;
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
    /** The wrapper's last stderr line: {@code DKEXIT <status> <stdout pipe> <stderr pipe>}. */
    static final String EXIT_MARKER = "DKEXIT ";

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
        return render(command, sudoUser, null);
    }

    /**
     * The remote command line, with every process it starts marked by {@code marker} in its
     * environment ({@link StepProcesses#MARKER}), so that {@link #kill(long, String, String)} finds
     * the ones that left its process group too (setsid children, double-forked daemons).
     */
    static String render(Command command, String sudoUser, String marker) {
        List<String> inner = new ArrayList<>(ProcessGroup.sudoPrefix(sudoUser));
        inner.add("/bin/sh");
        inner.add("-c");
        // the command runs as a child (stdin handed over on fd 3, since an asynchronous command's own
        // stdin is /dev/null), so that when it ends the wrapper can say so, naming the output pipes
        // that children it left behind may still hold open (see kill(..., holders))
        inner.add("echo \"" + PID_MARKER + "$$\" >&2; if [ -n \"$1\" ]; then cd -- \"$1\" || exit 126; fi; shift; "
                + "exec 3<&0; \"$@\" <&3 3<&- & m=$!; exec 3<&-; wait \"$m\"; s=$?; "
                + "echo \"" + EXIT_MARKER + "$s $(readlink /proc/$$/fd/1) $(readlink /proc/$$/fd/2)\" >&2; exit $s");
        inner.add("dk");
        inner.add(command.cwd() == null ? "" : command.cwd());
        if (!command.env().isEmpty() || marker != null) {
            inner.add("env");
            new TreeMap<>(command.env()).forEach((k, v) -> inner.add(k + "=" + v));
            if (marker != null) {
                inner.add(StepProcesses.MARKER + "=" + marker);
            }
        }
        inner.addAll(command.argv());
        // setsid makes the shell a process group leader, so its pid is the group to kill; -w waits
        // for it (setsid forks when the login shell already leads its group) and passes its status.
        return "if command -v setsid >/dev/null 2>&1; then exec setsid -w " + join(inner) + "; else exec " + join(inner) + "; fi";
    }

    /**
     * A command that kills the process group {@code pid} started by {@link #render}, then every
     * process whose environment carries {@code marker} (found in {@code /proc}), in a few rounds so
     * that a process forked while the first round ran is caught by the next.
     */
    static String kill(long pid, String marker, String sudoUser) {
        List<String> argv = new ArrayList<>(ProcessGroup.sudoPrefix(sudoUser));
        argv.addAll(List.of("/bin/sh", "-c", KILL_MARKED, "dk", Long.toString(pid), StepProcesses.MARKER + "=" + marker));
        return join(argv) + " 2>/dev/null; true";
    }

    /**
     * A command that kills the processes of a step that ended but left children holding its output
     * open ({@code pipes}, as the wrapper's exit line names them), and prints how many it killed.
     * Processes of the step that let go of the output (services started properly) are left alone.
     */
    static String killHolders(String marker, String pipes, String sudoUser) {
        List<String> argv = new ArrayList<>(ProcessGroup.sudoPrefix(sudoUser));
        argv.addAll(List.of("/bin/sh", "-c", KILL_HOLDERS, "dk", StepProcesses.MARKER + "=" + marker, pipes));
        return join(argv) + " 2>/dev/null";
    }

    /** $1: the MARKER=value environ line; $2: the pipe names, space separated. Prints the number killed. */
    private static final String KILL_HOLDERS = "n=0; for d in /proc/[0-9]*; do "
            + "tr '\\000' '\\n' < \"$d/environ\" 2>/dev/null | grep -qxF \"$1\" || continue; "
            + "for f in \"$d\"/fd/*; do l=$(readlink \"$f\" 2>/dev/null) || continue; case \" $2 \" in *\" $l \"*) "
            + "env kill -KILL \"${d#/proc/}\" 2>/dev/null && n=$((n+1)); break;; esac; done; done; echo \"$n\"";

    /** $1: the group leader's pid; $2: the MARKER=value line every process of the step has in its environ. */
    private static final String KILL_MARKED = "env kill -KILL -- -\"$1\" \"$1\" 2>/dev/null; for round in 1 2 3; do "
            + "for d in /proc/[0-9]*; do if tr '\\000' '\\n' < \"$d/environ\" 2>/dev/null | grep -qxF \"$2\"; then "
            + "env kill -KILL \"${d#/proc/}\" 2>/dev/null; fi; done; done";

}
