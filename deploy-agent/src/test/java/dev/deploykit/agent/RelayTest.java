package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.Outputs;
import dev.deploykit.Package;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.spi.support.Sha256;
import dev.deploykit.transport.grpc.AgentGateway;
import dev.deploykit.transport.grpc.proto.FetchArtifactRequest;
import dev.deploykit.transport.grpc.proto.RelayServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Relay agents, as real agent JVMs over mutual TLS on loopback: r1 ({@code --relay}, 4 MiB/s per
 * peer) serves the artifact it holds to c1..c3, so the controller sends one copy; a relay that dies mid-transfer or
 * serves a flipped byte is dropped and its children finish from the controller from where they got
 * to; a relay refuses peers and digests the controller did not name.
 */
class RelayTest {
    private static final int SIZE = 12 * 1024 * 1024;
    @TempDir
    Path dir;
    AgentFixtures.Pki pki;
    AgentGateway gateway;
    DeployKit kit;
    int relayPort;
    final List<AgentFixtures.AgentProcess> agents = new ArrayList<>();
    AgentFixtures.AgentProcess relay;
    Package pkg;

    @BeforeEach
    void start() throws Exception {
        pki = AgentFixtures.pki(dir);
        gateway = AgentFixtures.gateway(pki).build();
        kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
        gateway.start(kit.servers());
        try (ServerSocket s = new ServerSocket(0)) {
            relayPort = s.getLocalPort();
        }
        relay = agent("r1", "--relay", "127.0.0.1:" + relayPort, "--relay-peer-mib-per-s", "4");
        for (String id : List.of("c1", "c2", "c3")) {
            agent(id);
        }
        AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> gateway.connectedAgents().size() == 4, "4 agents");
        byte[] payload = new byte[SIZE];
        new Random(7).nextBytes(payload);
        pkg = kit.packages().publish(ScriptBundle.builder("relayed", "1.0").script("install", "true").file("payload.bin", payload)
                .writeTo(dir.resolve("relayed-1.0.tar")));
        // the relay gets its copy from the controller
        Deployment first = deploy("r1");
        assertEquals(DeploymentStatus.SUCCEEDED, first.status());
        DeployEvent.ArtifactFetched own = fetched(first).get("r1");
        assertNull(own.relay(), "from the controller");
        assertEquals(pkg.artifact().size(), own.controllerBytes());
    }

    @AfterEach
    void stop() {
        agents.forEach(AgentFixtures.AgentProcess::close);
        kit.close();
        gateway.close();
    }

    private AgentFixtures.AgentProcess agent(String id, String... extra) throws Exception {
        Path state = dir.resolve(id);
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), gateway.port(), id, state,
                Files.createDirectories(dir.resolve("root-" + id)));
        args.addAll(List.of(extra));
        AgentFixtures.AgentProcess a = new AgentFixtures.AgentProcess(state, args).start();
        agents.add(a);
        return a;
    }

    private Deployment deploy(String... servers) throws InterruptedException {
        Deployment d = kit.start(DeployPlan.builder().action(Action.install("relayed", "1.0")).targetServers(servers).build());
        d.await(Duration.ofMinutes(2));
        return d;
    }

    private Path relayCache() {
        return dir.resolve("r1/artifacts/sha256/" + pkg.artifact().sha256());
    }

    /** The deployment's artifact fetches by server: the edges of its fan-out tree and what each source sent. */
    private static java.util.Map<String, DeployEvent.ArtifactFetched> fetched(Deployment d) {
        java.util.Map<String, DeployEvent.ArtifactFetched> byServer = new java.util.TreeMap<>();
        for (DeployEvent e : d.events()) {
            if (e instanceof DeployEvent.ArtifactFetched f) {
                byServer.put(f.serverId(), f);
            }
        }
        return byServer;
    }

    private static List<String> fetchNotes(Deployment d, String server) {
        return Outputs.byServer(d, "ensure-artifact").getOrDefault(server, List.of());
    }

    @Test
    void childrenFetchFromTheRelaySoTheControllerSendsOneCopy() throws Exception {
        assertEquals(pkg.artifact().size(), gateway.artifactBytesServed(), "the relay's copy came from the controller");
        long start = System.nanoTime();
        Deployment d = deploy("c1", "c2", "c3");
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(DeploymentStatus.SUCCEEDED, d.status(), d.tasks().toString());
        // 12 MiB to each at most 4 MiB/s per peer: the cap holds (a lower bound, whatever the machine's speed)
        assertTrue(seconds >= 2.5, "12 MiB per peer at 4 MiB/s took only " + seconds + " s");
        assertEquals(pkg.artifact().size(), gateway.artifactBytesServed(), "no byte more left the controller");
        assertEquals(java.util.Map.of("r1", 3 * pkg.artifact().size()), gateway.relayBytesServed(), "the relay served three copies");
        for (String c : List.of("c1", "c2", "c3")) {
            assertTrue(fetchNotes(d, c).contains("fetched bytes 0-" + pkg.artifact().size() + " from relay r1 (127.0.0.1:" + relayPort + ")"),
                    c + ": " + fetchNotes(d, c));
            assertEquals(pkg.artifact().sha256(), Sha256.of(dir.resolve(c + "/artifacts/sha256/" + pkg.artifact().sha256())));
        }
        // the deployment's events say the same: the tree (every child under r1) and the controller's egress (nothing)
        java.util.Map<String, DeployEvent.ArtifactFetched> tree = fetched(d);
        assertEquals(java.util.Set.of("c1", "c2", "c3"), tree.keySet());
        for (DeployEvent.ArtifactFetched f : tree.values()) {
            assertEquals("r1", f.relay(), f.toString());
            assertEquals(0, f.controllerBytes(), f.toString());
            assertEquals(java.util.Map.of("r1", pkg.artifact().size()), f.relayBytes(), f.toString());
        }
    }

    @Test
    void aRelayKilledMidTransferLeavesItsChildToFinishFromTheControllerFromWhereItGotTo() throws Exception {
        // the relay has only the first half, as if it were still receiving it: it serves that, then waits
        long half = pkg.artifact().size() / 2;
        Path partial = relayCache().resolveSibling(pkg.artifact().sha256() + ".partial");
        try (RandomAccessFile in = new RandomAccessFile(relayCache().toFile(), "r"); RandomAccessFile out = new RandomAccessFile(partial.toFile(), "rw")) {
            byte[] head = new byte[(int) half];
            in.readFully(head);
            out.write(head);
        }
        Files.delete(relayCache());
        long servedBefore = gateway.artifactBytesServed();
        Deployment d = kit.start(DeployPlan.builder().action(Action.install("relayed", "1.0")).targetServers("c1").build());
        Path childPartial = dir.resolve("c1/artifacts/sha256/" + pkg.artifact().sha256() + ".partial");
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> {
            try {
                return Files.exists(childPartial) && Files.size(childPartial) == half;
            } catch (java.io.IOException e) {
                return false;
            }
        }, "c1 to have the half the relay has");
        relay.kill9();
        assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(2)), d.tasks().toString());
        // it goes on from the end of the last whole chunk it checked
        long kept = half / (1 << 20) * (1 << 20);
        assertEquals(pkg.artifact().size() - kept, gateway.artifactBytesServed() - servedBefore,
                "the controller sent only what the relay had not: " + fetchNotes(d, "c1"));
        assertTrue(fetchNotes(d, "c1").stream().anyMatch(n -> n.startsWith("relay r1 failed at byte " + half)), fetchNotes(d, "c1").toString());
        assertTrue(fetchNotes(d, "c1").contains("fetched bytes " + kept + "-" + pkg.artifact().size() + " from the controller"),
                fetchNotes(d, "c1").toString());
        DeployEvent.ArtifactFetched f = fetched(d).get("c1");
        assertEquals("r1", f.relay(), "it was told to fetch from r1");
        assertEquals(pkg.artifact().size() - kept, f.controllerBytes(), "the controller's part, in the deployment's events");
        assertEquals(java.util.Map.of("r1", half), f.relayBytes(), "what the relay sent before it died");
    }

    @Test
    void aRelayThatServesAFlippedByteIsDroppedAtThatChunkAndReported() throws Exception {
        long at = 5L * (1 << 20) + 100;
        try (RandomAccessFile f = new RandomAccessFile(relayCache().toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x01);
        }
        long servedBefore = gateway.artifactBytesServed();
        Deployment d = deploy("c1");
        assertEquals(DeploymentStatus.SUCCEEDED, d.status(), d.tasks().toString());
        long chunkStart = 5L * (1 << 20);
        assertTrue(fetchNotes(d, "c1").contains("relay r1 sent a bad chunk 5 (bytes " + chunkStart + "-" + (chunkStart + (1 << 20))
                + "): dropped it; going on from byte " + chunkStart + " with the next source"), fetchNotes(d, "c1").toString());
        assertEquals(pkg.artifact().size() - chunkStart, gateway.artifactBytesServed() - servedBefore, "the controller sent from that chunk on");
        assertEquals(pkg.artifact().sha256(), Sha256.of(dir.resolve("c1/artifacts/sha256/" + pkg.artifact().sha256())));
    }

    @Test
    void aRelayRefusesAPeerOrADigestTheControllerDidNotName() throws Exception {
        Path[] c1 = pki.agentCert("c1");
        TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder()
                .keyManager(AgentTls.keyManagerFactory(c1[0], c1[1]).getKeyManagers())
                .trustManager(new dev.deploykit.spi.support.TlsTrust(pki.ca(), "test CA") {
                    @Override
                    public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
                            throws java.security.cert.CertificateException {
                        checkClientTrusted(chain, authType);
                    }
                });
        ManagedChannel channel = NettyChannelBuilder.forTarget("127.0.0.1:" + relayPort, tls.build()).build();
        try {
            // the relay waits up to 10 s for a grant before it refuses: a deadline per call
            RelayServiceGrpc.RelayServiceBlockingStub stub = RelayServiceGrpc.newBlockingStub(channel);
            StatusRuntimeException notNamed = assertThrows(StatusRuntimeException.class, () -> stub.withDeadlineAfter(30, TimeUnit.SECONDS).fetchArtifact(FetchArtifactRequest
                    .newBuilder().setSha256(pkg.artifact().sha256()).build()).hasNext());
            assertEquals(Status.Code.PERMISSION_DENIED, notNamed.getStatus().getCode());
            assertEquals("relay r1 was not told to serve artifact " + pkg.artifact().sha256() + " to agent c1", notNamed.getStatus().getDescription());
            String other = "0".repeat(64);
            StatusRuntimeException otherDigest = assertThrows(StatusRuntimeException.class, () -> stub.withDeadlineAfter(30, TimeUnit.SECONDS).fetchArtifact(FetchArtifactRequest
                    .newBuilder().setSha256(other).build()).hasNext());
            assertEquals(Status.Code.PERMISSION_DENIED, otherDigest.getStatus().getCode());
        } finally {
            channel.shutdownNow();
        }
        ManagedChannel anonymous = NettyChannelBuilder.forTarget("127.0.0.1:" + relayPort, TlsChannelCredentials.newBuilder()
                .trustManager(pki.ca().toFile()).build()).overrideAuthority("r1").build();
        try {
            StatusRuntimeException noCert = assertThrows(StatusRuntimeException.class, () -> RelayServiceGrpc.newBlockingStub(anonymous)
                    .withDeadlineAfter(20, TimeUnit.SECONDS).fetchArtifact(FetchArtifactRequest.newBuilder().setSha256(pkg.artifact().sha256())
                            .build()).hasNext());
            assertTrue(noCert.getStatus().getCode() != Status.Code.OK, noCert.toString());
        } finally {
            anonymous.shutdownNow();
        }
    }
}
