package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Who may use {@code dev.deploykit.internal}: the engine itself (deploy-core's
 * {@code dev/deploykit/internal/}, and its unit tests in the same package) and {@code DeployKit.java},
 * which builds the engine. Anything else
 * that names the package, in an import or fully qualified, is an offender. Every module runs
 * {@link #assertNoneIn(Path)} on its own sources; deploy-core runs it on the whole repository.
 */
public final class InternalImports {
    private static final Pattern USE = Pattern.compile("^\\s*(import\\s+(static\\s+)?dev\\.deploykit\\.internal\\.|.*\\bdev\\.deploykit\\.internal\\.[A-Z])");
    private static final String ENGINE = "deploy-core/src/main/java/dev/deploykit/internal/";
    private static final String ENGINE_TESTS = "deploy-core/src/test/java/dev/deploykit/internal/";
    private static final String FACADE = "deploy-core/src/main/java/dev/deploykit/DeployKit.java";

    private InternalImports() {}

    /** Fails, listing each offending line, when a source under {@code dir} uses the engine's internals. */
    public static void assertNoneIn(Path dir) {
        List<Path> sources = javaFiles(dir);
        assertTrue(!sources.isEmpty(), "no Java sources under " + dir.toAbsolutePath());
        assertEquals(List.of(), offenders(sources), "only deploy-core's engine and DeployKit.java may use dev.deploykit.internal");
    }

    /** {@code file: line} for every use of {@code dev.deploykit.internal} outside the engine and the facade. */
    public static List<String> offenders(List<Path> sources) {
        return sources.stream()
                .filter(p -> !normalized(p).contains(ENGINE) && !normalized(p).contains(ENGINE_TESTS) && !normalized(p).endsWith(FACADE))
                .flatMap(p -> lines(p).stream().filter(l -> !l.trim().startsWith("*") && !l.trim().startsWith("//")
                        && USE.matcher(l).find()).map(l -> p + ": " + l.trim()))
                .toList();
    }

    static List<Path> javaFiles(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.toString().endsWith(".java") && !normalized(p).contains("/target/")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String normalized(Path p) {
        return p.toAbsolutePath().normalize().toString().replace('\\', '/');
    }

    private static List<String> lines(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
