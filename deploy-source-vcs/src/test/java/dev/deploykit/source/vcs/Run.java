package dev.deploykit.source.vcs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Test helpers: real programs run as argv lists, free ports, and comparing trees byte for byte. */
final class Run {
    private Run() {}

    /** Runs {@code argv} in {@code dir}; fails the test on a non-zero exit. Returns stdout. */
    static String in(Path dir, String... argv) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("GIT_AUTHOR_NAME", "Alice Example");
        pb.environment().put("GIT_AUTHOR_EMAIL", "alice@example.com");
        pb.environment().put("GIT_COMMITTER_NAME", "Alice Example");
        pb.environment().put("GIT_COMMITTER_EMAIL", "alice@example.com");
        pb.environment().put("GIT_CONFIG_NOSYSTEM", "1");
        pb.environment().put("HOME", dir.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", argv) + " did not finish");
        }
        assertEquals(0, p.exitValue(), () -> String.join(" ", argv) + " failed:\n" + out);
        return out;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Waits until something listens on 127.0.0.1:{@code port}. */
    static void awaitListening(int port, Process process) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            if (!process.isAlive()) {
                throw new AssertionError("server exited with " + process.exitValue() + " before listening on " + port);
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("nothing listens on 127.0.0.1:" + port);
    }

    /** Every path under {@code dir} with what it is: file bytes and executable bit, link target, or directory. */
    static TreeMap<String, String> tree(Path dir) throws IOException {
        try {
            return walk(dir);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static TreeMap<String, String> walk(Path dir) throws IOException, java.security.NoSuchAlgorithmException {
        TreeMap<String, String> out = new TreeMap<>();
        List<Path> paths = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.filter(p -> !p.equals(dir)).forEach(paths::add);
        }
        for (Path p : paths) {
            String key = dir.relativize(p).toString();
            if (Files.isSymbolicLink(p)) {
                out.put(key, "link -> " + Files.readSymbolicLink(p));
            } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                out.put(key, "dir");
            } else {
                out.put(key, (Files.isExecutable(p) ? "exec " : "file ") + java.util.HexFormat.of().formatHex(
                        java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
            }
        }
        return out;
    }

    static TreeMap<String, String> treeOrFail(Path dir) {
        try {
            return tree(dir);
        } catch (IOException e) {
            throw new AssertionError("cannot read " + dir, e);
        }
    }
}
