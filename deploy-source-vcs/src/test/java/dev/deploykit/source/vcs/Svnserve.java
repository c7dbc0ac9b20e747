package dev.deploykit.source.vcs;

import dev.deploykit.Requirements;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code svnserve} on 127.0.0.1 and an ephemeral port serving one repository made with
 * {@code svnadmin}, which only user {@code alice} with {@code password} may read.
 */
final class Svnserve implements AutoCloseable {
    private final Process process;
    final int port;
    final Path repo;

    Svnserve(Path root, String password) throws IOException, InterruptedException {
        Path svnserve = Requirements.tool("svnserve", "to serve the test repository (Debian package subversion)");
        Path svnadmin = Requirements.tool("svnadmin", "to create the test repository (Debian package subversion)");
        Requirements.tool("svn", "to commit to and export the test repository (Debian package subversion)");
        repo = root.resolve("repo");
        Run.in(root, svnadmin.toString(), "create", repo.toString());
        Files.writeString(repo.resolve("conf/svnserve.conf"), "[general]\nanon-access = none\nauth-access = write\npassword-db = passwd\n");
        Files.writeString(repo.resolve("conf/passwd"), "[users]\nalice = " + password + "\n");
        port = Run.freePort();
        process = new ProcessBuilder(svnserve.toString(), "-d", "--foreground", "--listen-host", "127.0.0.1", "--listen-port",
                Integer.toString(port), "-r", root.toString()).redirectErrorStream(true)
                .redirectOutput(root.resolve("svnserve.log").toFile()).start();
        Run.awaitListening(port, process);
    }

    String url() {
        return "svn://127.0.0.1:" + port + "/repo";
    }

    /** The file:// URL of the repository, for the test's own commits and exports. */
    String fileUrl(String path) {
        return "file://" + repo + "/" + path;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        process.waitFor(10, TimeUnit.SECONDS);
    }
}
