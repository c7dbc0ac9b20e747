package dev.deploykit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Outside tools a test needs. When one is missing the test is skipped with a message naming it;
 * under CI ({@code CI=true}) a missing tool fails the test instead, so CI never passes by skipping.
 */
public final class Requirements {
    private Requirements() {}

    /** The absolute path of {@code tool} on PATH; skips (or fails under CI) when absent. */
    public static Path tool(String tool, String why) {
        // sbin dirs too: sshd lives there and is not on a non-root PATH
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin:/usr/local/sbin";
        Path found = Stream.of(path.split(":"))
                .map(dir -> Path.of(dir, tool)).filter(Files::isExecutable).findFirst().orElse(null);
        if (found == null) {
            missing("'" + tool + "' is not installed; it is needed " + why);
        }
        return found;
    }

    /** Skips the test with {@code message} naming the missing part, or fails it under CI ({@code CI=true}). */
    public static void missing(String message) {
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError(message + " (CI=true: a missing part fails the run)");
        }
        Assumptions.abort(message);
    }
}
