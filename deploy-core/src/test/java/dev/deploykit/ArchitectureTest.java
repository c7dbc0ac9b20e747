package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * deploy-core stays free of network, protobuf, SSH and SQL libraries, and internals stay internal:
 * only the engine and {@code DeployKit.java} use {@code dev.deploykit.internal}, anywhere in the repository.
 */
class ArchitectureTest {
    private static final Path MAIN = Path.of("src/main/java");
    private static final List<String> FORBIDDEN = List.of("io.grpc", "com.google.protobuf", "org.apache.sshd", "org.jdbi",
            "java.sql", "org.postgresql");

    private static List<Path> sources() throws IOException {
        try (Stream<Path> files = Files.walk(MAIN)) {
            return files.filter(p -> p.toString().endsWith(".java")).toList();
        }
    }

    @Test
    void coreImportsNoGrpcProtobufSshdOrJdbi() throws IOException {
        List<Path> sources = sources();
        assertTrue(sources.size() > 30, "found only " + sources.size() + " sources under " + MAIN.toAbsolutePath());
        List<String> offenders = sources.stream().flatMap(p -> lines(p).stream()
                .filter(l -> l.startsWith("import ") && FORBIDDEN.stream().anyMatch(f -> l.contains(" " + f + ".") || l.contains(" static " + f)))
                .map(l -> MAIN.relativize(p) + ": " + l)).toList();
        assertEquals(List.of(), offenders);
    }

    @Test
    void apiAndSpiDoNotExposeInternalTypesInSignatures() throws IOException {
        List<String> offenders = sources().stream()
                .filter(p -> !p.toString().contains("/internal/"))
                .flatMap(p -> lines(p).stream().filter(l -> l.matches("\\s*public .*\\b(Engine|DeploymentRun|NodeWork|Planner)\\b.*"))
                        .map(l -> MAIN.relativize(p) + ": " + l.trim()))
                .toList();
        assertEquals(List.of(), offenders);
    }

    @Test
    void onlyTheEngineAndDeployKitUseInternalsAnywhereInTheRepository() {
        Path repo = Path.of("..").toAbsolutePath().normalize();
        List<Path> sources = InternalImports.javaFiles(repo);
        assertTrue(sources.stream().anyMatch(p -> p.toString().contains("deploy-agent")), "not the repository root: " + repo);
        assertEquals(List.of(), InternalImports.offenders(sources));
    }

    @Test
    void theCheckCatchesAnImportAndAFullyQualifiedUse(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        String engine = "dev.deploykit." + "internal.Engine"; // split, so that this file is not an offender itself
        Path bad = Files.writeString(tmp.resolve("Bad.java"),
                "package x;\nimport " + engine + ";\nclass Bad { Object o = " + engine + ".class; }\n");
        assertEquals(2, InternalImports.offenders(List.of(bad)).size());
    }

    @Test
    void theBomListsEveryLibraryModule() throws IOException {
        String parent = Files.readString(Path.of("../pom.xml"));
        String bom = Files.readString(Path.of("../deploy-bom/pom.xml"));
        List<String> libraries = java.util.regex.Pattern.compile("<module>([^<]+)</module>").matcher(parent).results()
                .map(m -> m.group(1)).filter(m -> !m.equals("deploy-bom") && !m.equals("benchmarks") && !m.equals("deploy-it") && !m.startsWith("examples/"))
                .toList();
        assertTrue(libraries.contains("deploy-core") && libraries.size() >= 6, "modules read from ../pom.xml: " + libraries);
        List<String> missing = libraries.stream().filter(m -> !bom.contains("<artifactId>" + m + "</artifactId>")).toList();
        assertEquals(List.of(), missing, "library modules missing from deploy-bom/pom.xml");
    }

    private static List<String> lines(Path p) {
        try {
            return Files.readAllLines(p);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
