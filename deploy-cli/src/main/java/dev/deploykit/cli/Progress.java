package dev.deploykit.cli;

import dev.deploykit.DeployEvent;
import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Prints a deployment's events as they happen, the same way in both modes: in server mode they come
 * from the API's event stream, in console mode from {@code Deployment.onEvent}. Text is one plain
 * line per event (a line per batch start and end, per node status or step change, and each output
 * line of a node, indented), never redrawn, so it reads the same in a terminal, a pipe and a CI log;
 * JSON is one event per line in the API's form ({@link Json#event}). Thread-safe: events may come
 * from the engine's threads.
 */
final class Progress implements Consumer<DeployEvent> {
    private static final int MIN_WIDTH = 8;

    private final PrintStream out;
    private final boolean json;
    private final long artifactBytes;
    private int width = MIN_WIDTH;
    /** The batch's artifact fetches so far: what the controller sent, and from which relay each node fetched. */
    private long batchControllerBytes;
    private final java.util.Map<String, String> batchRelays = new java.util.TreeMap<>();
    private int batchFetches;

    /**
     * @param artifactBytes size of the package an install moves to the nodes, shown when a node starts
     *                      its {@code ensure-artifact} step; negative when there is none or it is not known
     */
    Progress(PrintStream out, boolean json, long artifactBytes) {
        this.out = out;
        this.json = json;
        this.artifactBytes = artifactBytes;
    }

    @Override
    public synchronized void accept(DeployEvent event) {
        String line = json ? Json.write(Json.event(event)) : line(event);
        if (line != null) {
            out.println(line);
            out.flush();
        }
    }

    /** The text line for {@code event}; null for none (an artifact fetch that was not through a relay). */
    String line(DeployEvent event) {
        if (event instanceof DeployEvent.DeploymentStatusChanged s) {
            return "deployment " + s.deploymentId() + " " + s.status() + (s.reason().isEmpty() ? "" : ": " + s.reason());
        } else if (event instanceof DeployEvent.BatchStarted b) {
            b.servers().forEach(id -> width = Math.max(width, id.length()));
            batchControllerBytes = 0;
            batchRelays.clear();
            batchFetches = 0;
            return "batch " + b.batch() + (b.canary() ? " (canary)" : "") + " started: " + String.join(", ", b.servers());
        } else if (event instanceof DeployEvent.BatchFinished b) {
            return "batch " + b.batch() + " finished: " + b.succeeded() + " succeeded, " + b.failed() + " failed, " + b.skipped() + " skipped"
                    + fetchSummary();
        } else if (event instanceof DeployEvent.NodeStatusChanged n) {
            String note = n.message().isEmpty() && n.step().equals("ensure-artifact") && artifactBytes >= 0
                    ? "artifact of " + bytes(artifactBytes) : n.message();
            String detail = n.step().isEmpty() || note.isEmpty() ? n.step() + note : n.step() + "  " + note;
            return String.format("  %-" + width + "s %-12s %s", n.serverId(), n.status(), detail).stripTrailing();
        } else if (event instanceof DeployEvent.ArtifactFetched f) {
            if (f.controllerBytes() < 0) {
                return null;
            }
            batchFetches++;
            batchControllerBytes += f.controllerBytes();
            if (f.relay() == null) {
                // the step's own line says the artifact is there; the batch's line sums up what the controller sent
                return null;
            }
            batchRelays.put(f.serverId(), f.relay());
            return String.format("  %-" + width + "s %-12s %s", f.serverId(), "fetched", "through relay " + f.relay()
                    + "; the controller sent " + bytes(f.controllerBytes()));
        } else if (event instanceof DeployEvent.NodeOutput o) {
            return String.format("  %-" + width + "s %s %s", o.serverId(), o.stream().equals("stderr") ? "!" : "|", o.line());
        }
        return event.toString();
    }

    /** What the batch's artifact fetches came to: through how many relays, and what the controller sent. */
    private String fetchSummary() {
        if (batchFetches == 0) {
            return "";
        }
        if (batchRelays.isEmpty()) {
            return "; the controller sent " + bytes(batchControllerBytes) + " of artifacts to " + batchFetches + (batchFetches == 1 ? " node" : " nodes");
        }
        return "; artifact to " + batchFetches + " nodes: " + (batchFetches - batchRelays.size()) + " from the controller, " + batchRelays.size()
                + " through " + new java.util.TreeSet<>(batchRelays.values()).size() + " relays; the controller sent " + bytes(batchControllerBytes);
    }

    /** {@code 1536} as {@code 1.5 KiB (1536 bytes)}. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " bytes";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s (%d bytes)", v, units[u], n);
    }
}
