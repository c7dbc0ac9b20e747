package dev.deploykit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.deploykit.DeployEvent;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeStatus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressTest {
    private static final Instant T = Instant.parse("2025-01-02T03:04:05Z");
    private static final List<DeployEvent> EVENTS = List.of(
            new DeployEvent.DeploymentStatusChanged("d1", 1, T, DeploymentStatus.RUNNING, ""),
            new DeployEvent.BatchStarted("d1", 2, T, 0, true, List.of("web-1")),
            new DeployEvent.NodeStatusChanged("d1", 3, T, "web-1", "t1", NodeStatus.RUNNING, "ensure-artifact", ""),
            new DeployEvent.NodeOutput("d1", 4, T, "web-1", "t1", "install", "stdout", "installing 1.0"),
            new DeployEvent.NodeOutput("d1", 5, T, "web-1", "t1", "install", "stderr", "warning: old config kept"),
            new DeployEvent.NodeStatusChanged("d1", 6, T, "web-1", "t1", NodeStatus.FAILED, "health-check", "exit 1 after 3 tries"),
            new DeployEvent.BatchFinished("d1", 7, T, 0, 0, 1, 0),
            new DeployEvent.BatchStarted("d1", 8, T, 1, false, List.of("web-2-long-name", "web-3")),
            new DeployEvent.NodeStatusChanged("d1", 9, T, "web-3", "t3", NodeStatus.SKIPPED, "query", ""),
            new DeployEvent.NodeStatusChanged("d1", 10, T, "web-2-long-name", "t2", NodeStatus.CANCELLED, "",
                    "not dispatched: failure budget exceeded"),
            new DeployEvent.DeploymentStatusChanged("d1", 11, T, DeploymentStatus.ROLLED_BACK, "failure budget exceeded: 1 failed"));

    private static String print(boolean json) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress progress = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), json, 1536);
        EVENTS.forEach(progress);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void printsALinePerBatchAndNodeChangeAndIndentsNodeOutput() {
        assertEquals("""
                deployment d1 RUNNING
                batch 0 (canary) started: web-1
                  web-1    RUNNING      ensure-artifact  artifact of 1.5 KiB (1536 bytes)
                  web-1    | installing 1.0
                  web-1    ! warning: old config kept
                  web-1    FAILED       health-check  exit 1 after 3 tries
                batch 0 finished: 0 succeeded, 1 failed, 0 skipped
                batch 1 started: web-2-long-name, web-3
                  web-3           SKIPPED      query
                  web-2-long-name CANCELLED    not dispatched: failure budget exceeded
                deployment d1 ROLLED_BACK: failure budget exceeded: 1 failed
                """, print(false));
    }

    @Test
    void jsonIsOneEventPerLineInTheApiFormThatReadsBackAsTheSameEvent() {
        List<String> lines = print(true).lines().toList();
        assertEquals(EVENTS.size(), lines.size());
        assertEquals("{\"deploymentId\":\"d1\",\"seq\":4,\"time\":\"2025-01-02T03:04:05Z\",\"serverId\":\"web-1\",\"taskId\":\"t1\","
                + "\"step\":\"install\",\"stream\":\"stdout\",\"line\":\"installing 1.0\",\"type\":\"NodeOutput\"}", lines.get(3));
        for (int i = 0; i < lines.size(); i++) {
            assertEquals(EVENTS.get(i), Json.event(Json.read(lines.get(i), "line")).orElseThrow());
        }
    }

    @Test
    void aBatchsArtifactFetchesAreSummedUpWithWhatTheControllerSent() {
        long mib = 1 << 20;
        List<DeployEvent> events = List.of(
                new DeployEvent.BatchStarted("d1", 1, T, 0, false, List.of("r1", "c1", "c2", "local")),
                new DeployEvent.ArtifactFetched("d1", 2, T, "r1", "t1", "ab", mib, null, mib, java.util.Map.of()),
                new DeployEvent.ArtifactFetched("d1", 3, T, "c1", "t2", "ab", mib, "r1", 0, java.util.Map.of("r1", mib)),
                new DeployEvent.ArtifactFetched("d1", 4, T, "c2", "t3", "ab", mib, "r1", mib / 2, java.util.Map.of("r1", mib / 2)),
                new DeployEvent.ArtifactFetched("d1", 5, T, "local", "t4", "ab", mib, null, -1, java.util.Map.of()),
                new DeployEvent.BatchFinished("d1", 6, T, 0, 4, 0, 0),
                new DeployEvent.DeploymentStatusChanged("d1", 7, T, DeploymentStatus.SUCCEEDED, ""));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress progress = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, mib);
        events.forEach(progress);
        assertEquals("""
                batch 0 started: r1, c1, c2, local
                  c1       fetched      through relay r1; the controller sent 0 bytes
                  c2       fetched      through relay r1; the controller sent 512.0 KiB (524288 bytes)
                batch 0 finished: 4 succeeded, 0 failed, 0 skipped; artifact to 3 nodes: 1 from the controller, 2 through 1 relays; \
                the controller sent 1.5 MiB (1572864 bytes)
                deployment d1 SUCCEEDED
                """, bytes.toString(StandardCharsets.UTF_8));
        for (DeployEvent e : events) {
            assertEquals(e, Json.event(Json.read(Json.write(Json.event(e)), "line")).orElseThrow(), "the API form reads back");
        }
    }

    @Test
    void aBatchWithoutRelaysSaysOnlyWhatTheControllerSent() {
        Progress progress = new Progress(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false, 100);
        progress.line(new DeployEvent.BatchStarted("d1", 1, T, 0, false, List.of("a", "b")));
        assertNull(progress.line(new DeployEvent.ArtifactFetched("d1", 2, T, "a", "t1", "ab", 100, null, 100, java.util.Map.of())),
                "the step's own output says the artifact is there");
        progress.line(new DeployEvent.ArtifactFetched("d1", 3, T, "b", "t2", "ab", 100, null, 0, java.util.Map.of()));
        assertEquals("batch 0 finished: 2 succeeded, 0 failed, 0 skipped; the controller sent 100 bytes of artifacts to 2 nodes",
                progress.line(new DeployEvent.BatchFinished("d1", 4, T, 0, 2, 0, 0)));
    }

    @Test
    void sizesAreReadable() {
        assertEquals("512 bytes", Progress.bytes(512));
        assertEquals("2.0 MiB (2097152 bytes)", Progress.bytes(2 * 1024 * 1024));
    }
}
