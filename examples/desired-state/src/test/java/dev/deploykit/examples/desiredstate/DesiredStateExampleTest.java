package dev.deploykit.examples.desiredstate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DesiredStateExampleTest {
    @TempDir
    Path tmp;

    @Test
    void convergesAJoinerRepairsDriftAndMovesThePinWithACanary() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Map<String, String> installed = new DesiredStateExample(tmp, new PrintStream(buf, true, StandardCharsets.UTF_8)).run();
        String output = buf.toString(StandardCharsets.UTF_8);

        assertEquals(Map.of("web-1", "2.0.0", "web-2", "2.0.0", "web-3", "2.0.0", "web-4", "2.0.0"), installed, output);
        for (String id : installed.keySet()) {
            assertEquals("version=2.0.0", Files.readString(tmp.resolve("nodes/" + id + "/opt/web-app/app.conf")).trim(), id);
        }
        assertTrue(output.contains("[reconcile] web-4 has web-app absent, pinned 1.0.0: converging in deployment"), output);
        assertTrue(output.contains("[reconcile] web-2 drifted from 1.0.0 to absent: repairing in deployment"), output);
        assertTrue(output.contains("[reconcile] web-1 has web-app 1.0.0, pinned 2.0.0: converging in deployment"), output);
        assertTrue(output.contains("[batch 0 canary] starting [web-1]"), output);
        assertTrue(output.contains("batches [[web-1], [web-2, web-3], [web-4]]"), output);
    }
}
