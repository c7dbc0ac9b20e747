package dev.deploykit.transport.grpc;

import com.google.protobuf.ByteString;
import dev.deploykit.Artifact;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.support.Sha256;
import dev.deploykit.transport.grpc.proto.ArtifactSource;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import dev.deploykit.transport.grpc.proto.EnsureArtifact;
import dev.deploykit.transport.grpc.proto.RelayGrant;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who fetches an artifact from whom: the controller's plan of each artifact's fan-out tree. The
 * first agents to need a digest fetch it from the controller; each relay agent ({@code --relay})
 * that is fetching or holds it then serves up to {@code fanOut} later ones, preferring a relay with
 * the same {@code rack} label, then the same {@code dc}, so copies stay inside a rack or site, and
 * then the relay placed earliest, so the tree fills breadth first. A
 * child is told its parent in {@link EnsureArtifact#getSourcesList()} (the controller stays its last
 * source) with every chunk's SHA-256, and the parent is granted that one digest for that one peer.
 * Thread-safe.
 */
final class RelayTree {
    private static final Logger log = LoggerFactory.getLogger(RelayTree.class);
    static final int CHUNK = 1 << 20;

    private final int fanOut;
    private final Duration grantFor;
    private final Function<String, AgentLink> links;
    /** Guarded by {@code this}: per digest, the relays that are fetching or hold it, with their children now. */
    private final Map<String, Map<String, Integer>> holders = new LinkedHashMap<>();
    /** Guarded by {@code this}: chunk digests of recent artifacts. */
    private final Map<String, List<ByteString>> chunkDigests = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, List<ByteString>> eldest) {
            return size() > 64;
        }
    };

    RelayTree(int fanOut, Duration grantFor, Function<String, AgentLink> links) {
        this.fanOut = fanOut;
        this.grantFor = grantFor;
        this.links = links;
    }

    /** A planned fetch: the step to send, and the handle that ends the agent's place in the tree. */
    record Placement(EnsureArtifact step, String parent, Runnable done) {}

    /**
     * The fetch of {@code artifact} by {@code agentId}: from a relay when one is free (granted to
     * serve it to this agent now), else from the controller.
     */
    Placement place(String agentId, Artifact artifact, ArtifactStore source) {
        EnsureArtifact.Builder step = EnsureArtifact.newBuilder().setSha256(artifact.sha256()).setSize(artifact.size());
        AgentLink self = links.apply(agentId);
        String parent;
        synchronized (this) {
            Map<String, Integer> relays = holders.computeIfAbsent(artifact.sha256(), k -> new LinkedHashMap<>());
            parent = relays.entrySet().stream()
                    .filter(e -> !e.getKey().equals(agentId) && e.getValue() < fanOut)
                    .filter(e -> {
                        AgentLink l = links.apply(e.getKey());
                        return l != null && l.connected() && l.relayEndpoint() != null;
                    })
                    // the closest; among those the earliest placed (min keeps the first of equals): the tree fills
                    // breadth first, so its depth grows with log(N), not N
                    .min(Comparator.comparingInt((Map.Entry<String, Integer> e) -> closeness(self, links.apply(e.getKey()))))
                    .map(Map.Entry::getKey).orElse(null);
            if (parent != null) {
                relays.merge(parent, 1, Integer::sum);
            }
            if (self != null && self.relayEndpoint() != null) {
                relays.putIfAbsent(agentId, 0);
            }
        }
        if (parent != null) {
            AgentLink p = links.apply(parent);
            p.send(ControllerMessage.newBuilder().setRelayGrant(RelayGrant.newBuilder().setSha256(artifact.sha256())
                    .setSize(artifact.size()).setPeerId(agentId).setExpiresAtMillis(System.currentTimeMillis() + grantFor.toMillis())).build());
            step.addSources(ArtifactSource.newBuilder().setEndpoint(p.relayEndpoint()).setAgentId(parent))
                    .setChunkSize(CHUNK).addAllChunkSha256(chunks(artifact, source));
            log.info("artifact {}: agent {} fetches from relay {}", artifact.sha256().substring(0, 12), agentId, parent);
        }
        String chosen = parent;
        return new Placement(step.build(), parent, () -> {
            synchronized (this) {
                Map<String, Integer> relays = holders.get(artifact.sha256());
                if (relays != null && chosen != null) {
                    relays.computeIfPresent(chosen, (k, n) -> n > 1 ? n - 1 : 0);
                }
            }
        });
    }

    /** The agent failed to place the artifact: it is no source of it. */
    synchronized void failed(String agentId, String sha256) {
        Map<String, Integer> relays = holders.get(sha256);
        if (relays != null) {
            relays.remove(agentId);
        }
    }

    /** 0: same rack, 1: same site, 2: neither said. */
    private static int closeness(AgentLink a, AgentLink b) {
        if (a == null || b == null) {
            return 2;
        }
        if (same(a, b, "rack") && same(a, b, "dc")) {
            return 0;
        }
        return same(a, b, "dc") ? 1 : 2;
    }

    private static boolean same(AgentLink a, AgentLink b, String label) {
        return a.labels().get(label) != null && Objects.equals(a.labels().get(label), b.labels().get(label));
    }

    /** The SHA-256 of each {@link #CHUNK} of the artifact, read once per artifact. */
    private List<ByteString> chunks(Artifact artifact, ArtifactStore source) {
        synchronized (this) {
            List<ByteString> known = chunkDigests.get(artifact.sha256());
            if (known != null) {
                return known;
            }
        }
        List<ByteString> digests = new ArrayList<>();
        try (InputStream in = source.open(artifact.sha256(), 0)) {
            byte[] buf = new byte[CHUNK];
            while (true) {
                int n = in.readNBytes(buf, 0, CHUNK);
                if (n == 0) {
                    break;
                }
                MessageDigest d = Sha256.newDigest();
                d.update(buf, 0, n);
                digests.add(ByteString.copyFrom(d.digest()));
                if (n < CHUNK) {
                    break;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read artifact " + artifact.sha256() + " for its chunk digests", e);
        }
        synchronized (this) {
            chunkDigests.put(artifact.sha256(), List.copyOf(digests));
        }
        return digests;
    }
}
