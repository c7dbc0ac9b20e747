package dev.deploykit.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** A Markdown benchmark report, printed as it grows and written to a file at the end. */
final class Report {
    private final List<String> lines = new ArrayList<>();

    Report(String title) {
        add("# " + title);
        add("");
        add("- date: " + Instant.now());
        add("- JVM: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        add("- machine: " + Runtime.getRuntime().availableProcessors() + " cores, "
                + ManagementFactory.getOperatingSystemMXBean().getName() + " " + System.getProperty("os.arch"));
        add("");
    }

    void add(String line) {
        lines.add(line);
        System.out.println(line);
    }

    void write(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, lines);
        System.out.println("report written to " + file);
    }

    static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    /** A scratch directory that is deleted when the JVM exits: benchmark files run into gigabytes. */
    static Path scratchDir(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
        return dir;
    }

    /** Deletes {@code dir} and everything below it, as far as it can. */
    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var all = Files.walk(dir)) {
            all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // left behind; the rest still goes
                }
            });
        } catch (IOException e) {
            System.err.println("could not clean " + dir + ": " + e.getMessage());
        }
    }

    static String seconds(long nanos) {
        return String.format("%.2f s", nanos / 1e9);
    }
}
