package dev.deploykit.cli;

import dev.deploykit.InternalImports;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The CLI uses only DeployKit's public API and SPIs, never the engine's internals. */
class InternalImportsTest {
    @Test
    void usesNoEngineInternals() {
        InternalImports.assertNoneIn(Path.of("src"));
    }
}
