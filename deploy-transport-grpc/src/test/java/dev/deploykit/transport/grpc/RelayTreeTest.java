package dev.deploykit.transport.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Artifact;
import dev.deploykit.Facts;
import dev.deploykit.spi.support.Sha256;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fan-out tree the gateway plans: its shape, the grants it sends, the chunk digests and the rack preference. */
class RelayTreeTest {
    @TempDir
    Path dir;
    final Map<String, AgentLink> links = new HashMap<>();
    final Map<String, List<ControllerMessage>> sent = new HashMap<>();

    private AgentLink link(String id, boolean relay, Map<String, String> labels) {
        AgentLink l = new AgentLink(id);
        List<ControllerMessage> inbox = sent.computeIfAbsent(id, k -> new ArrayList<>());
        l.attach(new StreamObserver<>() {
            @Override
            public void onNext(ControllerMessage m) {
                inbox.add(m);
            }

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
        }, Facts.UNKNOWN, "/", "test", null);
        l.relay(relay ? "10.0.0." + (links.size() + 1) + ":7443" : null, labels);
        links.put(id, l);
        return l;
    }

    private Artifact artifact(FileArtifactStore store, int bytes) throws Exception {
        byte[] data = new byte[bytes];
        new java.util.Random(1).nextBytes(data);
        return store.put(Files.write(dir.resolve("a.bin"), data));
    }

    @Test
    void fillsBreadthFirstUpToTheFanOutGrantsEachParentAndSendsChunkDigests() throws Exception {
        FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
        Artifact a = artifact(store, (int) (2.5 * RelayTree.CHUNK));
        RelayTree tree = new RelayTree(4, Duration.ofHours(1), links::get);
        Map<String, String> parent = new HashMap<>();
        for (int i = 0; i < 21; i++) {
            String id = "a" + i;
            link(id, true, Map.of());
            RelayTree.Placement p = tree.place(id, a, store);
            parent.put(id, p.parent());
            if (p.parent() != null) {
                assertEquals(p.parent(), p.step().getSources(0).getAgentId());
                assertEquals(3, p.step().getChunkSha256Count(), "2.5 chunks: three digests");
            }
        }
        assertEquals(null, parent.get("a0"), "the first fetches from the controller");
        for (int i = 1; i <= 4; i++) {
            assertEquals("a0", parent.get("a" + i));
        }
        for (int i = 5; i <= 8; i++) {
            assertEquals("a1", parent.get("a" + i), "a" + i);
        }
        assertEquals("a4", parent.get("a20"));
        // depth: a20 -> a4 -> a0
        assertEquals("a0", parent.get(parent.get("a20")));
        List<ControllerMessage> grants = sent.get("a0");
        assertEquals(4, grants.size());
        assertTrue(grants.stream().allMatch(m -> m.getRelayGrant().getSha256().equals(a.sha256())));
        assertEquals(List.of("a1", "a2", "a3", "a4"), grants.stream().map(m -> m.getRelayGrant().getPeerId()).toList());

        // the first chunk's digest is the first MiB's SHA-256
        byte[] first = java.util.Arrays.copyOf(Files.readAllBytes(dir.resolve("a.bin")), RelayTree.CHUNK);
        java.security.MessageDigest d = Sha256.newDigest();
        d.update(first);
        assertEquals(Sha256.hex(d), java.util.HexFormat.of().formatHex(
                tree.place("late", a, store).step().getChunkSha256(0).toByteArray()));
    }

    @Test
    void prefersTheSameRackThenTheSameSiteAndLeavesANonRelayOut() throws Exception {
        FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
        Artifact a = artifact(store, 1000);
        RelayTree tree = new RelayTree(4, Duration.ofHours(1), links::get);
        link("leaf", false, Map.of("dc", "east", "rack", "r1"));
        assertEquals(null, tree.place("leaf", a, store).parent());
        link("east-r1", true, Map.of("dc", "east", "rack", "r1"));
        assertEquals(null, tree.place("east-r1", a, store).parent(), "a non-relay is no source");
        link("west", true, Map.of("dc", "west", "rack", "r9"));
        tree.place("west", a, store);
        link("east-r2", true, Map.of("dc", "east", "rack", "r2"));
        tree.place("east-r2", a, store);
        link("new-west", true, Map.of("dc", "west", "rack", "r8"));
        assertEquals("west", tree.place("new-west", a, store).parent(), "same site first");
        link("new-east-r2", true, Map.of("dc", "east", "rack", "r2"));
        assertEquals("east-r2", tree.place("new-east-r2", a, store).parent(), "same rack first");
    }
}
