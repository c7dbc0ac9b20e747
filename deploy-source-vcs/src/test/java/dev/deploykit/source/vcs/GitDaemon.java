package dev.deploykit.source.vcs;

import dev.deploykit.Requirements;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A real {@code git daemon} on 127.0.0.1 and an ephemeral port, serving the bare repositories under a directory. */
final class GitDaemon implements AutoCloseable {
    private final Process process;
    final int port;

    GitDaemon(Path base) throws IOException, InterruptedException {
        Path git = Requirements.tool("git", "to serve test repositories with git daemon (Debian package git)");
        port = Run.freePort();
        process = new ProcessBuilder(git.toString(), "daemon", "--reuseaddr", "--export-all", "--base-path=" + base,
                "--listen=127.0.0.1", "--port=" + port, base.toString()).redirectErrorStream(true)
                .redirectOutput(base.resolveSibling("git-daemon.log").toFile()).start();
        Run.awaitListening(port, process);
    }

    String url(String repo) {
        return "git://127.0.0.1:" + port + "/" + repo;
    }

    @Override
    public void close() throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroy);
        process.destroy();
        process.waitFor(10, TimeUnit.SECONDS);
    }
}
