package dev.deploykit.transport.ssh;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.Facts;
import dev.deploykit.TransportException;
import dev.deploykit.internal.LineSink;
import dev.deploykit.internal.OsRelease;
import dev.deploykit.internal.ProcessRunner;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;
import org.apache.sshd.sftp.client.impl.SftpOutputStreamAsync;

/**
 * A {@link NodeSession} over one shared SSH connection: each command is an exec channel, artifacts
 * go over an SFTP channel opened on first use. Used by one thread at a time; closing it closes the
 * SFTP channel, not the connection, which the transport reuses.
 */
final class SshNodeSession implements NodeSession {
    private static final Duration CHANNEL_OPEN = Duration.ofSeconds(30);
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);

    private final SshTransport transport;
    private final String serverId;
    private final ClientSession session;
    private final String root;
    private final String sudo;
    private SftpClient sftp;
    private String cacheDir;

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
        return OsRelease.parse(out, arch);
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
        try (ChannelExec channel = session.createExecChannel(RemoteCommand.render(command, user))) {
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
            try {
                if (!closed.await(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                    kill(pid, user);
                    timedOut = true;
                    channel.close(true);
                }
            } catch (InterruptedException e) {
                kill(pid, user);
                channel.close(true);
                Thread.currentThread().interrupt();
                throw new TransportException(serverId, "cancelled: " + command.argv().get(0), e, false);
            }
            // the exit status request precedes the close; give the close a moment to settle the streams
            channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), Duration.ofSeconds(1));
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

    /** Kills the command's remote process group; waits briefly for its pid when it has not arrived yet. */
    private void kill(PidFilter filter, String user) {
        long pid = filter.awaitPid(KILL_WAIT);
        if (pid <= 0) {
            return;
        }
        try (ChannelExec killer = session.createExecChannel(RemoteCommand.kill(pid, user))) {
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
     * One round trip: creates the cache dir, then prints the digest of the cached file (empty when
     * absent) and the size of a partial upload (0 when absent).
     */
    private static final String PREPARE = HASH + "mkdir -p -- \"$1\" || exit 1; "
            + "if [ -f \"$2\" ]; then h \"$2\"; else echo; fi; if [ -f \"$3\" ]; then wc -c < \"$3\"; else echo 0; fi";

    /** One round trip: moves the upload into place when its digest is $2, else prints the digest and fails. */
    private static final String COMMIT = HASH + "d=$(h \"$1\"); if [ \"$d\" = \"$2\" ]; then mv -f -- \"$1\" \"$3\"; "
            + "else echo \"$d\"; rm -f -- \"$1\"; exit 3; fi";

    @Override
    public String ensureArtifact(Artifact artifact, ArtifactStore source) {
        try {
            String dir = cacheDir() + "/sha256";
            String target = dir + "/" + artifact.sha256();
            String partial = target + ".partial";
            List<String> state = capture(Command.shell(PREPARE, dir, target, partial)).lines().map(String::trim).toList();
            if (state.size() != 2) {
                throw new TransportException(serverId, "unexpected answer while preparing the artifact cache: " + state, null, true);
            }
            if (artifact.sha256().equals(state.get(0))) {
                return target;
            }
            long have = Long.parseLong(state.get(1));
            if (have > artifact.size()) {
                have = 0;
            }
            upload(artifact, source, partial, have);
            if (commit(artifact, partial, target) != null && have > 0) {
                // the kept partial file was not a prefix of this artifact: start over once
                upload(artifact, source, partial, 0);
            } else {
                return target;
            }
            String actual = commit(artifact, partial, target);
            if (actual != null) {
                throw new TransportException(serverId, "artifact digest mismatch after upload: expected " + artifact.sha256()
                        + ", the node computed " + actual, null, true);
            }
            return target;
        } catch (IOException e) {
            throw new TransportException(serverId, "cannot upload artifact " + artifact.sha256() + ": " + e.getMessage(), e, true);
        }
    }

    /** Verifies the upload on the node and moves it into place; returns the wrong digest, or null when done. */
    private String commit(Artifact artifact, String partial, String target) {
        StringBuilder out = new StringBuilder();
        ExecResult result = exec(Command.shell(COMMIT, partial, artifact.sha256(), target), (stream, line) -> {
            if (stream.equals("stdout")) {
                out.append(line);
            }
        });
        if (result.ok()) {
            return null;
        }
        if (result.exitCode() == 3) {
            return out.toString().trim();
        }
        throw new TransportException(serverId, "cannot verify the uploaded artifact: exit " + result.exitCode() + ": " + result.stderrTail(), null, true);
    }

    private void upload(Artifact artifact, ArtifactStore source, String partial, long offset) throws IOException {
        transport.bulkhead.acquirePermission();
        try (InputStream in = source.open(artifact.sha256(), offset);
                OutputStream raw = offset == 0
                        ? sftp().write(partial, transport.options().uploadBufferSize(), SftpClient.OpenMode.Write,
                                SftpClient.OpenMode.Create, SftpClient.OpenMode.Truncate)
                        : sftp().write(partial, transport.options().uploadBufferSize(), SftpClient.OpenMode.Write,
                                SftpClient.OpenMode.Create)) {
            ((SftpOutputStreamAsync) raw).setOffset(offset);
            in.transferTo(raw);
        } finally {
            transport.bulkhead.onComplete();
        }
    }

    private String cacheDir() throws IOException {
        if (cacheDir == null) {
            String configured = transport.options().remoteCacheDir();
            if (!root.equals("/")) {
                cacheDir = root.replaceAll("/+$", "") + "/var/cache/deploykit";
            } else if (configured.startsWith("/")) {
                cacheDir = configured;
            } else {
                cacheDir = sftp().canonicalPath(".") + "/" + configured;
            }
        }
        return cacheDir;
    }

    private SftpClient sftp() throws IOException {
        if (sftp == null) {
            sftp = SftpClientFactory.instance().createSftpClient(session);
        }
        return sftp;
    }

    @Override
    public void close() {
        if (sftp != null) {
            try {
                sftp.close();
            } catch (IOException ignored) {
                // the connection stays usable; a half-closed SFTP channel is dropped with it
            }
        }
    }

    /** Passes stderr through, except the {@code DKPID} line the remote wrapper prints first. */
    private static final class PidFilter extends OutputStream {
        private final OutputStream next;
        private final ByteArrayOutputStream first = new ByteArrayOutputStream();
        private boolean seenFirstLine;
        private final CountDownLatch known = new CountDownLatch(1);
        private volatile long pid = -1;

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

        @Override
        public void write(int b) throws IOException {
            if (seenFirstLine) {
                next.write(b);
                return;
            }
            if (b != '\n') {
                first.write(b);
                if (first.size() < 64) {
                    return;
                }
            }
            seenFirstLine = true;
            String line = first.toString(StandardCharsets.UTF_8).replace("\r", "");
            if (line.startsWith(RemoteCommand.PID_MARKER) && line.substring(RemoteCommand.PID_MARKER.length()).matches("[0-9]+")) {
                pid = Long.parseLong(line.substring(RemoteCommand.PID_MARKER.length()));
                known.countDown();
            } else {
                known.countDown();
                next.write(first.toByteArray());
                next.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            for (int i = off; i < off + len; i++) {
                write(b[i]);
            }
        }
    }
}
