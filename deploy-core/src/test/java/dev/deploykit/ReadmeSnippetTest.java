package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's "Embed it" example compiles exactly as a user would paste it. */
class ReadmeSnippetTest {
    @Test
    void readmeExampleCompilesAsWritten(@TempDir Path tmp) throws IOException {
        String readme = Files.readString(Path.of("../README.md"));
        int start = readme.indexOf("```java\n");
        assertTrue(start >= 0, "README.md has no ```java block");
        String code = readme.substring(start + "```java\n".length(), readme.indexOf("```", start + 8));
        Path source = Files.writeString(tmp.resolve("RollOut.java"), code);

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "tests need a JDK, not a JRE");
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, null)) {
            boolean ok = javac.getTask(null, files, diagnostics,
                    List.of("--release", "17", "-classpath", System.getProperty("java.class.path"), "-d", tmp.toString()),
                    null, files.getJavaFileObjects(source)).call();
            assertEquals(List.of(), diagnostics.getDiagnostics().stream().map(d -> d.getLineNumber() + ": " + d.getMessage(null)).toList());
            assertTrue(ok);
        }
        assertTrue(Files.exists(tmp.resolve("RollOut.class")));
    }
}
