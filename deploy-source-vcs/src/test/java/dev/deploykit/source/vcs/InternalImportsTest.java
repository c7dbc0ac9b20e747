package dev.deploykit.source.vcs;

import dev.deploykit.InternalImports;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** This module uses only DeployKit's public API and SPIs, never the engine's internals. */
class InternalImportsTest {
    @Test
    void usesNoEngineInternals() {
        InternalImports.assertNoneIn(Path.of("src"));
    }
}
