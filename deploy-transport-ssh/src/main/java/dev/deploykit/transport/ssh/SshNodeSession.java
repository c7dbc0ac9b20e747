package dev.deploykit.transport.ssh;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.Facts;
import dev.deploykit.TransportException;
import dev.deploykit.spi.ArtifactDelivery;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.support.LineSink;
import dev.deploykit.spi.support.ProcessRunner;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;

/**
 * A {@link NodeSession} over one shared SSH connection: each command is an exec channel, and so is
 * each artifact upload (streamed to a remote {@code cat}, see {@link #PLACE}). Used by one thread at
 * a time; closing it leaves the connection to the transport, which reuses it.
 */
final class SshNodeSession implements NodeSession {
    private static final Duration CHANNEL_OPEN = Duration.ofSeconds(30);
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);

    private final SshTransport transport;
    private final String serverId;
    private final ClientSession session;
    private final String root;
    private final String sudo;

    SshNodeSession(SshTransport transport, String serverId, ClientSession session, String root, String sudo) {
        this.transport = transport;
        this.serverId = serverId;
        this.session = session;
        this.root = root;
        this.sudo = sudo;
    }

    @Override
    public Facts facts() {
        String out = capture(Command.shell("cat /etc/os-release 2>/dev/null; echo; echo \"DKARCH=$(uname -m)\""));
        String arch = out.lines().filter(l -> l.startsWith("DKARCH=")).map(l -> l.substring(7)).findFirst().orElse("unknown");
        return Facts.parseOsRelease(out, arch);
    }

    @Override
    public String root() {
        return root;
    }

    @Override
    public ExecResult exec(Command command, OutputListener output) {
        String user = command.runAs() != null ? command.runAs() : sudo;
        Duration timeout = command.timeoutOr(Command.DEFAULT_TIMEOUT);
        transport.bulkhead.acquirePermission();
        long start = System.nanoTime();
        String marker = "ssh-" + java.util.UUID.randomUUID();
        try (ChannelExec channel = session.createExecChannel(RemoteCommand.render(command, user, marker))) {
            Object lock = new Object();
            LineSink stdout = new LineSink("stdout", output, lock, 0);
            LineSink stderr = new LineSink("stderr", output, lock, ProcessRunner.STDERR_TAIL_LINES);
            PidFilter pid = new PidFilter(stderr);
            channel.setOut(stdout);
            channel.setErr(pid);
            // MINA's waitFor swallows interrupts; a latch on the close future lets a cancel through.
            CountDownLatch closed = new CountDownLatch(1);
            channel.addCloseFutureListener(f -> closed.countDown());
            channel.open().verify(CHANNEL_OPEN);
            boolean timedOut = false;
            long deadline = System.nanoTime() + timeout.toNanos();
            try {
                while (!closed.await(Math.min(100_000_000L, Math.max(1, deadline - System.nanoTime())), TimeUnit.NANOSECONDS)) {
                    if (System.nanoTime() >= deadline) {
                        kill(pid, marker, user);
                        timedOut = true;
                        channel.close(true);
                        break;
                    }
                    if (pid.exitedFor() > LINGER.toNanos()) {
                        // the step ended, but children it left hold its output open, which keeps the channel open
                        int killed = killHolders(marker, pid.pipes(), user);
                        stderr.write(("deploykit: the step ended; killed " + killed + " process(es) it left holding its output open\n")
                                .getBytes(StandardCharsets.UTF_8));
                        if (!closed.await(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                            channel.close(true);
                        }
                        break;
                    }
                }
            } catch (InterruptedException e) {
                kill(pid, marker, user);
                channel.close(true);
                Thread.currentThread().interrupt();
                throw new TransportException(serverId, "cancelled: " + command.argv().get(0), e, false);
            }
            // the exit status request precedes the close; give the close a moment to settle the streams
            channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), Duration.ofSeconds(1));
            pid.close();
            stdout.close();
            stderr.close();
            Integer exit = channel.getExitStatus();
            return new ExecResult(timedOut || exit == null ? -1 : exit, timedOut, stderr.tail(), Duration.ofNanos(System.nanoTime() - start));
        } catch (IOException e) {
            throw new TransportException(serverId, "cannot run " + command.argv().get(0) + ": " + e.getMessage(), e, true);
        } finally {
            transport.bulkhead.onComplete();
        }
    }

    /** How long a step's children may hold its output open after the step's main process ended. */
    static final Duration LINGER = Duration.ofSeconds(2);

    /** Kills the processes of an ended step that still hold its output pipes; returns how many. */
    private int killHolders(String marker, String pipes, String user) {
        StringBuilder out = new StringBuilder();
        try (ChannelExec killer = session.createExecChannel(RemoteCommand.killHolders(marker, pipes, user))) {
            killer.setOut(new LineSink("stdout", (stream, line) -> out.append(line), new Object(), 0));
            killer.open().verify(KILL_WAIT);
            killer.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), KILL_WAIT);
        } catch (IOException e) {
            throw new TransportException(serverId, "cannot end what the step left running: " + e.getMessage(), e, true);
        }
        return out.toString().trim().matches("[0-9]+") ? Integer.parseInt(out.toString().trim()) : 0;
    }

    /** Kills the command's remote process group; waits briefly for its pid when it has not arrived yet. */
    private void kill(PidFilter filter, String marker, String user) {
        long pid = filter.awaitPid(KILL_WAIT);
        if (pid <= 0) {
            return;
        }
        try (ChannelExec killer = session.createExecChannel(RemoteCommand.kill(pid, marker, user))) {
            killer.open().verify(KILL_WAIT);
            killer.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), KILL_WAIT);
        } catch (IOException e) {
            throw new TransportException(serverId, "cannot kill remote process group " + pid + ": " + e.getMessage(), e, true);
        }
    }

    /** Runs {@code command} and returns its stdout; a failure is a TransportException with its stderr. */
    private String capture(Command command) {
        StringBuilder out = new StringBuilder();
        ExecResult result = exec(command, (stream, line) -> {
            if (stream.equals("stdout")) {
                out.append(line).append('\n');
            }
        });
        if (!result.ok()) {
            throw new TransportException(serverId, "`" + command + "` failed with exit " + result.exitCode() + ": " + result.stderrTail(), null, false);
        }
        return out.toString();
    }

    /** Prints "sha256 of $1" with the fastest tool the node has (openssl is ~4x faster than coreutils). */
    private static final String HASH = "h() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r \"$1\"; "
            + "else sha256sum -- \"$1\"; fi | cut -d' ' -f1; }; ";

    /**
     * Places an artifact in one exec channel, so one remote shell per artifact (as many as scp
     * starts). Creates the cache dir and prints {@code dir D} (its absolute path); answers
     * {@code present} when the cached copy's digest is right; else prints {@code offset N} (the size of
     * a kept partial upload), appends stdin to the partial file ({@code cat}: {@code head -c} copies in
     * 8 KiB steps and cost a third of a fan-out's CPU), and, once it has the artifact's size, moves
     * it into place if its digest is right ({@code placed}) or deletes it ({@code mismatch D}, exit
     * 3). An upload cut short keeps its partial file ({@code short}, exit 4) for the next try.
     * Args: $1 dir, $2 sha256 (the file name), $3 size.
     */
    private static final String PLACE = HASH + "mkdir -p -- \"$1\" && cd -- \"$1\" || exit 1; echo \"dir $(pwd)\"; "
            + "if [ -f \"$2\" ] && [ \"$(h \"$2\")\" = \"$2\" ]; then echo present; exit 0; fi; "
            + "p=\"$2.partial\"; have=0; if [ -f \"$p\" ]; then have=$(wc -c < \"$p\"); fi; "
            + "if [ \"$have\" -gt \"$3\" ]; then rm -f -- \"$p\"; have=0; fi; "
            + "echo \"offset $have\"; "
            + "cat >> \"$p\" || exit 1; "
            + "if [ \"$(wc -c < \"$p\")\" -ne \"$3\" ]; then echo short; exit 4; fi; "
            + "d=$(h \"$p\"); if [ \"$d\" = \"$2\" ]; then mv -f -- \"$p\" \"$2\" && echo placed; "
            + "else echo \"mismatch $d\"; rm -f -- \"$p\"; exit 3; fi";

    @Override
    public String ensureArtifact(Artifact artifact, ArtifactStore source) {
        return deliver(artifact, source).path();
    }

    /** Uploaded from the controller over this session; {@code controllerBytes} is what was uploaded (0: the node had it). */
    @Override
    public ArtifactDelivery deliver(Artifact artifact, ArtifactStore source) {
        try {
            Placement first = place(artifact, source);
            if (first.ok()) {
                return new ArtifactDelivery(first.path(), null, first.sent(), Map.of(), List.of());
            }
            if (first.mismatch() && first.resumedFrom() > 0) {
                // the kept partial file was not a prefix of this artifact (it is deleted now): start over once
                Placement again = place(artifact, source);
                if (again.ok()) {
                    return new ArtifactDelivery(again.path(), null, first.sent() + again.sent(), Map.of(),
                            List.of("the partial copy kept on the node was not of this artifact: uploaded it again from the start"));
                }
                first = again;
            }
            if (first.mismatch()) {
                throw new TransportException(serverId, "artifact digest mismatch after upload: expected " + artifact.sha256()
                        + ", the node computed " + first.answer().substring("mismatch ".length()), null, true);
            }
            throw new TransportException(serverId, "cannot place artifact " + artifact.sha256() + ": " + first.answer(), null, true);
        } catch (IOException e) {
            throw new TransportException(serverId, "cannot upload artifact " + artifact.sha256() + ": " + e.getMessage(), e, true);
        }
    }

    /** What {@link #PLACE} answered last, where the upload started, the bytes sent, and the artifact's path on the node. */
    private record Placement(String answer, long resumedFrom, long sent, String path) {
        boolean ok() {
            return answer.equals("present") || answer.equals("placed");
        }

        boolean mismatch() {
            return answer.startsWith("mismatch ");
        }
    }

    private Placement place(Artifact artifact, ArtifactStore source) throws IOException {
        transport.bulkhead.acquirePermission();
        Command command = Command.shell(PLACE, cacheDir() + "/sha256", artifact.sha256(), Long.toString(artifact.size()));
        try (ChannelExec channel = session.createExecChannel(RemoteCommand.render(command, sudo))) {
            ByteArrayOutputStream stderr = new ByteArrayOutputStream();
            channel.setErr(stderr);
            channel.open().verify(CHANNEL_OPEN);
            BufferedReader answers = new BufferedReader(new InputStreamReader(channel.getInvertedOut(), StandardCharsets.UTF_8));
            String dir = answers.readLine();
            String path = dir != null && dir.startsWith("dir /") ? dir.substring("dir ".length()) + "/" + artifact.sha256() : null;
            String first = path == null ? dir : answers.readLine();
            long offset = -1;
            long sent = 0;
            String last = first;
            if (first != null && first.startsWith("offset ")) {
                offset = Long.parseLong(first.substring("offset ".length()).trim());
                try (InputStream in = source.open(artifact.sha256(), offset); OutputStream remote = channel.getInvertedIn()) {
                    byte[] buffer = new byte[128 * 1024];
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        remote.write(buffer, 0, n);
                        sent += n;
                    }
                }
                last = answers.readLine();
            }
            channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), CHANNEL_OPEN);
            if (last == null) {
                String err = stderr.toString(StandardCharsets.UTF_8).lines()
                        .filter(l -> !l.startsWith(RemoteCommand.PID_MARKER) && !l.startsWith(RemoteCommand.EXIT_MARKER))
                        .reduce("", (a, b) -> a + b + "\n").trim();
                last = "exit " + channel.getExitStatus() + (err.isEmpty() ? "" : ": " + err);
            }
            return new Placement(last, Math.max(0, offset), sent, path);
        } finally {
            transport.bulkhead.onComplete();
        }
    }

    /** The node's artifact cache: under the install root on a simulated node, else as configured (relative to home). */
    private String cacheDir() {
        String configured = transport.options().remoteCacheDir();
        return root.equals("/") ? configured : root.replaceAll("/+$", "") + "/var/cache/deploykit";
    }

    @Override
    public void close() {
        // the connection is the transport's, reused by the next session to this node
    }

    /**
     * Passes stderr through, a line at a time, except the wrapper's own lines: the {@code DKPID}
     * line it prints first (the process group to kill) and the {@code DKEXIT} line it prints when the
     * step's main process ended (its output pipes, for children that still hold them).
     */
    private static final class PidFilter extends OutputStream {
        private final OutputStream next;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private boolean seenFirstLine;
        private final CountDownLatch known = new CountDownLatch(1);
        private volatile long pid = -1;
        private volatile long exitedAt;
        private volatile String pipes = "";

        PidFilter(OutputStream next) {
            this.next = next;
        }

        /** The remote pid, waiting up to {@code wait} for it; -1 if it never came. */
        long awaitPid(Duration wait) {
            try {
                known.await(wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return pid;
        }

        /** Nanoseconds since the step's main process ended; 0 while it runs. */
        long exitedFor() {
            long at = exitedAt;
            return at == 0 ? 0 : System.nanoTime() - at;
        }

        /** The step's output pipes as the wrapper named them, space separated. */
        String pipes() {
            return pipes;
        }

        @Override
        public void write(int b) throws IOException {
            if (b != '\n') {
                if (line.size() < LineSink.MAX_LINE) {
                    line.write(b);
                    return;
                }
            }
            String text = line.toString(StandardCharsets.UTF_8).replace("\r", "");
            byte[] raw = line.toByteArray();
            line.reset();
            if (!seenFirstLine) {
                seenFirstLine = true;
                if (text.startsWith(RemoteCommand.PID_MARKER) && text.substring(RemoteCommand.PID_MARKER.length()).matches("[0-9]+")) {
                    pid = Long.parseLong(text.substring(RemoteCommand.PID_MARKER.length()));
                    known.countDown();
                    return;
                }
                known.countDown();
            }
            if (text.startsWith(RemoteCommand.EXIT_MARKER) && text.matches(RemoteCommand.EXIT_MARKER + "[0-9]+( \\S+)*")) {
                String[] parts = text.split(" ");
                pipes = String.join(" ", java.util.Arrays.asList(parts).subList(2, parts.length));
                exitedAt = System.nanoTime();
                return;
            }
            next.write(raw);
            next.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }

        @Override
        public void close() throws IOException {
            if (line.size() > 0) {
                write('\n');
            }
        }
    }
}
