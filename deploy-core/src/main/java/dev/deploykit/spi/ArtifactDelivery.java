package dev.deploykit.spi;

import java.util.List;
import java.util.Map;

/**
 * How an artifact reached a node, as {@link NodeSession#deliver} tells it.
 *
 * @param path            where the artifact is on the node
 * @param relay           the relay agent the node was told to fetch it from, or null when from the controller
 * @param controllerBytes bytes of it the controller sent (0 when the node had it or a relay sent it all),
 *                        or -1 where the transport does not count them
 * @param relayBytes      bytes each relay agent sent, by agent id (empty without relays)
 * @param notes           what happened on the way, one line each (a relay dropped and why), for the step's output
 */
public record ArtifactDelivery(String path, String relay, long controllerBytes, Map<String, Long> relayBytes, List<String> notes) {
    public ArtifactDelivery {
        relayBytes = Map.copyOf(relayBytes);
        notes = List.copyOf(notes);
    }

    /** Placed at {@code path} by a transport that does not count what it sent. */
    public static ArtifactDelivery uncounted(String path) {
        return new ArtifactDelivery(path, null, -1, Map.of(), List.of());
    }
}
