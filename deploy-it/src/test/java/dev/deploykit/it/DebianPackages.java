package dev.deploykit.it;

import dev.deploykit.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Real Debian packages for tests: fetched with {@code apt-get download} from this machine's own
 * package sources (kept in {@code target/debian-packages} so a rerun fetches nothing), and rebuilt
 * at another version with {@code dpkg-deb}. Without a reachable mirror the test is skipped with a
 * message saying so (failed under {@code CI=true}).
 */
final class DebianPackages {
    private static final Path CACHE = Path.of("target", "debian-packages").toAbsolutePath();

    private DebianPackages() {}

    /** The .deb of {@code name} (the candidate version of this machine's sources). */
    static synchronized Path download(String name) throws Exception {
        Path found = find(name);
        if (found != null) {
            return found;
        }
        Path aptGet = Requirements.tool("apt-get", "to download real Debian packages");
        Files.createDirectories(CACHE);
        // apt downloads as the unprivileged _apt user where it can: let it write here
        CACHE.toFile().setWritable(true, false);
        String out = run(CACHE, aptGet.toString(), "download", "-q", name);
        found = find(name);
        if (found == null) {
            Requirements.missing("'apt-get download " + name + "' fetched nothing: a Debian package mirror is needed (" + out.strip() + ")");
        }
        return found;
    }

    /** {@code deb} rebuilt by {@code dpkg-deb} with {@code Version: version}, same contents. */
    static Path rebuild(Path deb, String version, Path dir) throws Exception {
        Path dpkgDeb = Requirements.tool("dpkg-deb", "to rebuild a Debian package at another version");
        Path tree = Files.createTempDirectory(dir, "deb-tree-");
        run(dir, dpkgDeb.toString(), "--raw-extract", deb.toString(), tree.toString());
        Path control = tree.resolve("DEBIAN/control");
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(control)) {
            lines.add(line.startsWith("Version:") ? "Version: " + version : line);
        }
        Files.write(control, lines);
        String name = deb.getFileName().toString().replaceFirst("_[^_]+_", "_" + version.replace(':', '%') + "_");
        Path out = dir.resolve(name);
        run(dir, dpkgDeb.toString(), "--root-owner-group", "--build", tree.toString(), out.toString());
        return out;
    }

    private static Path find(String name) throws Exception {
        if (!Files.isDirectory(CACHE)) {
            return null;
        }
        try (Stream<Path> files = Files.list(CACHE)) {
            return files.filter(f -> f.getFileName().toString().startsWith(name + "_") && f.toString().endsWith(".deb"))
                    .findFirst().orElse(null);
        }
    }

    private static String run(Path cwd, String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).directory(cwd.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0 && !argv[1].equals("download")) {
            throw new IllegalStateException(String.join(" ", argv) + " failed: " + out);
        }
        return out;
    }
}
