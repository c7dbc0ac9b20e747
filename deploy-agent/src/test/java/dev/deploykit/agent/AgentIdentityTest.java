package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Artifact;
import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.DeployKit;
import dev.deploykit.Server;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.support.Sha256;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.transport.grpc.AgentCa;
import dev.deploykit.transport.grpc.AgentGateway;
import dev.deploykit.transport.grpc.AgentIdentity;
import dev.deploykit.transport.grpc.Enrollment;
import dev.deploykit.transport.grpc.ManualEnrollment;
import dev.deploykit.transport.grpc.proto.AgentMessage;
import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.ArtifactChunk;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import dev.deploykit.transport.grpc.proto.FetchArtifactRequest;
import dev.deploykit.transport.grpc.proto.Hello;
import dev.deploykit.transport.grpc.proto.RunTask;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacks on agent identity, performed against a real gateway with real agent processes and
 * hand-made gRPC clients: impostors, clones, artifact theft, registration floods; and the
 * enrollment and revocation that make identities from certificates workable.
 */
class AgentIdentityTest {
    @TempDir
    Path dir;
    AgentFixtures.Pki pki;
    AgentGateway gateway;
    DeployKit kit;
    final List<AgentFixtures.AgentProcess> agents = new ArrayList<>();
    final List<ManagedChannel> channels = new ArrayList<>();

    @AfterEach
    void tearDown() {
        channels.forEach(ManagedChannel::shutdownNow);
        agents.forEach(AgentFixtures.AgentProcess::close);
        if (kit != null) {
            kit.close();
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    private void start(AgentGateway.Builder builder) {
        gateway = builder.build();
        kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
        gateway.start(kit.servers());
    }

    private void startMutualTls() throws Exception {
        pki = AgentFixtures.pki(dir);
        start(AgentFixtures.gateway(pki));
    }

    private AgentFixtures.AgentProcess agent(String stateName, List<String> args) throws IOException {
        AgentFixtures.AgentProcess a = new AgentFixtures.AgentProcess(dir.resolve(stateName), args).start();
        agents.add(a);
        return a;
    }

    /** A real agent process with its own certificate for {@code certId}, saying Hello as {@code helloId}. */
    private AgentFixtures.AgentProcess agent(String stateName, String certId, String helloId) throws Exception {
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), gateway.port(), certId,
                dir.resolve(stateName), Files.createDirectories(dir.resolve("root-" + stateName)));
        args.set(args.indexOf("--id") + 1, helloId);
        return agent(stateName, args);
    }

    private void awaitConnected(String id) throws InterruptedException {
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains(id), id + " to connect");
    }

    private static void awaitLog(AgentFixtures.AgentProcess a, String fragment) throws InterruptedException {
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> {
            try {
                return a.logText().contains(fragment);
            } catch (IOException e) {
                return false;
            }
        }, "'" + fragment + "' in " + a.log);
    }

    /** Runs {@code touch marker} on agent {@code id} and returns its exit code. */
    private int touch(String id, Path marker) {
        try (NodeSession s = gateway.transport().open(kit.servers().get(id).orElseThrow())) {
            return s.exec(Command.of("touch", marker.toString()), OutputListener.IGNORE).exitCode();
        }
    }

    @Test
    void anAgentCannotTakeOverAnSshServerEvenWithACertificateNamingIt() throws Exception {
        startMutualTls();
        Server db = kit.servers().register(Server.of("db-1", Binding.ssh("10.0.0.5", 22, "deploy"), Map.of("role", "db")));

        AgentFixtures.AgentProcess impostor = agent("impostor", "evil", "db-1");
        awaitLog(impostor, "the client certificate names agent evil, but the Hello says db-1");
        AgentFixtures.AgentProcess misissued = agent("misissued", "db-1", "db-1");
        awaitLog(misissued, "server db-1 is bound to the ssh transport");

        assertEquals(db.binding(), kit.servers().get("db-1").orElseThrow().binding(), "the SSH binding is unchanged");
        assertFalse(gateway.connectedAgents().contains("db-1"));
        assertTrue(kit.servers().get("evil").isEmpty(), "no server was created for the impostor's certificate");
        assertTrue(impostor.logText().contains("PERMISSION_DENIED"), impostor.logText());
    }

    @Test
    void anImpostorOfALiveAgentIsRefusedAndTheRealAgentStaysConnectedAndWorks() throws Exception {
        startMutualTls();
        AgentFixtures.AgentProcess real = agent("web-1", "web-1", "web-1");
        awaitConnected("web-1");
        String pinned = kit.servers().get("web-1").orElseThrow().binding().attributes().get("certSha256");
        assertEquals(AgentIdentity.fingerprint(AgentCa.certificate(Files.readString(pki.agentCert("web-1")[0]))), pinned,
                "the server is bound to the certificate it connected with");

        AgentFixtures.AgentProcess otherCert = agent("impostor-a", "evil", "web-1");
        awaitLog(otherCert, "names agent evil, but the Hello says web-1");
        // a node holding a second certificate for web-1 (mis-issued, or re-enrolled elsewhere)
        Path[] second = pki.agentCert("web-1", "web-1-second");
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), gateway.port(), "web-1",
                dir.resolve("impostor-b"), Files.createDirectories(dir.resolve("root-impostor-b")));
        args.set(args.indexOf("--cert") + 1, second[0].toString());
        args.set(args.indexOf("--key") + 1, second[1].toString());
        AgentFixtures.AgentProcess secondCert = agent("impostor-b", args);
        awaitLog(secondCert, "agent web-1 is bound to certificate " + pinned);

        Thread.sleep(3_000);
        assertTrue(gateway.connectedAgents().contains("web-1"), "the real agent was never displaced");
        Path marker = dir.resolve("root-web-1/after-the-attack");
        dev.deploykit.Deployment next = kit.start(dev.deploykit.DeployPlan.builder().action(dev.deploykit.Action.runScripts(
                dev.deploykit.ScriptSet.of("s", dev.deploykit.Script.of("touch", Command.of("touch", marker.toString())))))
                .targetServers("web-1").build());
        assertEquals(dev.deploykit.DeploymentStatus.SUCCEEDED, next.await(Duration.ofMinutes(1)), "the real agent's next deployment");
        assertTrue(Files.exists(marker), "the command reached the real agent");
        assertFalse(Files.exists(dir.resolve("root-impostor-a/after-the-attack")));
        assertFalse(Files.exists(dir.resolve("root-impostor-b/after-the-attack")));
        assertFalse(real.logText().contains("refused this agent"), real.logText());
    }

    @Test
    void aClonedStateDirIsRefusedWhileTheOriginalIsAliveAndBothSidesSaySo() throws Exception {
        pki = AgentFixtures.pki(dir);
        start(AgentFixtures.certificateGateway(pki).enrollment(AgentCa.load(pki.ca(), pki.caKey()), Enrollment.autoApprove()));
        String token = gateway.enrollmentTokens().issue(1, Duration.ofMinutes(10));
        Path tokenFile = Files.writeString(dir.resolve("enroll-token"), token + "\n");
        List<String> args = List.of("--controller", "127.0.0.1:" + gateway.port(), "--ca", pki.ca().toString(),
                "--enroll-token-file", tokenFile.toString(), "--id", "node-7", "--state-dir", dir.resolve("node-7").toString(),
                "--root", Files.createDirectories(dir.resolve("root-node-7")).toString());
        AgentFixtures.AgentProcess original = agent("node-7", args);
        awaitConnected("node-7");
        assertTrue(Files.exists(dir.resolve("node-7/agent.crt")), "the enrolled certificate is kept in the state dir");
        assertEquals(Set.of(PosixFilePermissions.fromString("rw-------")), Set.of(Files.getPosixFilePermissions(dir.resolve("node-7/agent.key"))));

        // the VM image (state dir and all) is copied to a second machine
        Path cloneDir = dir.resolve("clone");
        copy(dir.resolve("node-7"), cloneDir);
        List<String> cloneArgs = new ArrayList<>(args);
        cloneArgs.set(cloneArgs.indexOf("--state-dir") + 1, cloneDir.toString());
        AgentFixtures.AgentProcess clone = agent("clone", cloneArgs);
        awaitLog(clone, "is already connected from");
        awaitLog(clone, "cloned state dir");
        awaitLog(original, "another connection as agent node-7");
        assertEquals(0, touch("node-7", dir.resolve("root-node-7/still-mine")));
        assertTrue(Files.exists(dir.resolve("root-node-7/still-mine")));
    }

    @Test
    void anAgentCanFetchOnlyWhatALiveTaskOfferedToItAndOffersEndWithTheTask() throws Exception {
        startMutualTls();
        HandMade a = new HandMade("agent-a");
        HandMade b = new HandMade("agent-b");
        LinkedBlockingQueue<ControllerMessage> toA = a.connect("agent-a");
        b.connect("agent-b");
        awaitConnected("agent-a");
        awaitConnected("agent-b");
        Path secret = Files.writeString(dir.resolve("db-bundle"), "conf/db.password=hunter2\n");
        FileArtifactStore store = new FileArtifactStore(dir.resolve("store"));
        Artifact artifact = store.put(secret);

        CompletableFuture<String> placed = CompletableFuture.supplyAsync(() -> {
            try (NodeSession s = gateway.transport().open(kit.servers().get("agent-a").orElseThrow())) {
                return s.ensureArtifact(artifact, store);
            }
        });
        RunTask ensure = toA.poll(30, TimeUnit.SECONDS).getRun();
        assertEquals(artifact.sha256(), ensure.getEnsureArtifact().getSha256());

        StatusRuntimeException stolen = b.fetchError(artifact.sha256(), "agent-b");
        assertEquals(Status.Code.PERMISSION_DENIED, stolen.getStatus().getCode(), stolen.toString());
        assertEquals(Status.Code.PERMISSION_DENIED, b.fetchError(artifact.sha256(), "agent-a").getStatus().getCode(),
                "naming another agent in the request does not help");
        assertEquals("conf/db.password=hunter2\n", a.fetch(artifact.sha256()), "the agent the task is for gets it");

        a.result(ensure.getTaskId(), "/cache/" + artifact.sha256());
        assertEquals("/cache/" + artifact.sha256(), placed.get(30, TimeUnit.SECONDS));
        assertEquals(0, gateway.liveOffers(), "the offer ended with the task");
        assertEquals(Status.Code.PERMISSION_DENIED, a.fetchError(artifact.sha256(), "agent-a").getStatus().getCode());
    }

    @Test
    void aThousandHellosWithFreshIdsFromOneCertificateCreateNoServers() throws Exception {
        startMutualTls();
        HandMade evil = new HandMade("evil");
        List<CompletableFuture<Status>> ends = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            ends.add(evil.connectAndWaitForEnd("fresh-" + i));
        }
        for (CompletableFuture<Status> end : ends) {
            assertEquals(Status.Code.PERMISSION_DENIED, end.get(60, TimeUnit.SECONDS).getCode());
        }
        assertEquals(List.of(), kit.servers().list());
    }

    @Test
    void withoutCertificatesNewRegistrationsAreLimitedPerMinute() throws Exception {
        pki = AgentFixtures.pki(dir);
        start(AgentGateway.builder().host("127.0.0.1").port(0).tls(pki.serverCert(), pki.serverKey()).token(AgentFixtures.TOKEN)
                .trustSelfNamedAgents().maxNewAgentsPerMinute(25));
        HandMade anyone = new HandMade(null);
        List<CompletableFuture<Status>> ends = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            ends.add(anyone.connectAndWaitForEnd("flood-" + i));
        }
        // the 25 admitted streams stay open; every other one ends
        AgentFixtures.waitUntil(Duration.ofSeconds(60), () -> ends.stream().filter(CompletableFuture::isDone).count() >= 975,
                "975 refusals");
        long refused = ends.stream().filter(CompletableFuture::isDone)
                .filter(e -> e.join().getCode() == Status.Code.RESOURCE_EXHAUSTED).count();
        assertEquals(975, refused);
        assertEquals(25, kit.servers().list().size(), "only the first 25 new agents of the minute were registered");
    }

    @Test
    void withoutACertificateAuthorityTheGatewayStartsOnlyWhenSelfNamedAgentsAreAllowedExplicitly() throws Exception {
        pki = AgentFixtures.pki(dir);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> AgentGateway
                .builder().tls(pki.serverCert(), pki.serverKey()).token(AgentFixtures.TOKEN).build());
        assertTrue(e.getMessage().contains("trustSelfNamedAgents()"), e.getMessage());
    }

    @Test
    void enrollmentTokensAreLimitedUseAndThePolicyDecidesWhoGetsACertificate() throws Exception {
        pki = AgentFixtures.pki(dir);
        ManualEnrollment manual = Enrollment.manual();
        start(AgentFixtures.certificateGateway(pki).enrollment(AgentCa.load(pki.ca(), pki.caKey()), manual));
        Path tokenFile = Files.writeString(dir.resolve("enroll-token"), gateway.enrollmentTokens().issue(1, Duration.ofMinutes(10)));

        AgentFixtures.AgentProcess first = agent("new-1", enrollArgs("new-1", tokenFile));
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> manual.pending().stream().anyMatch(r -> r.requestedId().equals("new-1")),
                "new-1's request to wait for approval");
        awaitLog(first, "is pending");
        assertFalse(gateway.connectedAgents().contains("new-1"), "no connection before approval");
        assertTrue(manual.approve("new-1"));
        awaitConnected("new-1");
        assertEquals("new-1", Files.readString(dir.resolve("new-1/agent-id")).trim());
        assertEquals("new-1", AgentIdentity.of(AgentCa.certificate(Files.readString(dir.resolve("new-1/agent.crt")))).orElseThrow().agentId());

        AgentFixtures.AgentProcess second = agent("new-2", enrollArgs("new-2", tokenFile));
        awaitLog(second, "used-up or expired enrollment token");
        AgentFixtures.AgentProcess forged = agent("new-3", enrollArgs("new-3",
                Files.writeString(dir.resolve("forged-token"), "0123456789abcdef0123456789abcdef")));
        awaitLog(forged, "UNAUTHENTICATED");
        assertEquals(Set.of("new-1"), gateway.connectedAgents());
        assertTrue(kit.servers().get("new-2").isEmpty() && kit.servers().get("new-3").isEmpty());
    }

    @Test
    void aRevokedCertificateIsDisconnectedAndRefusedAtConnect() throws Exception {
        startMutualTls();
        AgentFixtures.AgentProcess a = agent("lost-laptop", "lost-laptop", "lost-laptop");
        awaitConnected("lost-laptop");
        String fingerprint = kit.servers().get("lost-laptop").orElseThrow().binding().attributes().get("certSha256");
        gateway.revoke(fingerprint);
        awaitLog(a, "is revoked");
        assertFalse(gateway.connectedAgents().contains("lost-laptop"));
        assertFalse(kit.servers().get("lost-laptop").orElseThrow().binding().attributes().containsKey("certSha256"),
                "the server is unbound from the revoked certificate, so the node can enroll again");
    }

    private List<String> enrollArgs(String id, Path tokenFile) throws IOException {
        return List.of("--controller", "127.0.0.1:" + gateway.port(), "--ca", pki.ca().toString(),
                "--enroll-token-file", tokenFile.toString(), "--id", id, "--state-dir", dir.resolve(id).toString(),
                "--root", Files.createDirectories(dir.resolve("root-" + id)).toString());
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else if (!p.getFileName().toString().equals("agent.log")) {
                    Files.copy(p, target);
                }
            }
        }
    }

    /** A gRPC client that speaks the agent protocol by hand, with the certificate of {@code certId} (none: token only). */
    private final class HandMade {
        final AgentServiceGrpc.AgentServiceStub stub;
        final AgentServiceGrpc.AgentServiceBlockingStub blocking;
        StreamObserver<AgentMessage> out;

        HandMade(String certId) throws IOException {
            TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder().trustManager(pki.ca().toFile());
            if (certId != null) {
                Path[] own = pki.agentCert(certId);
                tls.keyManager(own[0].toFile(), own[1].toFile());
            }
            ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", gateway.port(), tls.build()).build();
            channels.add(channel);
            Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + AgentFixtures.TOKEN);
            stub = AgentServiceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
            blocking = AgentServiceGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
        }

        LinkedBlockingQueue<ControllerMessage> connect(String helloId) {
            LinkedBlockingQueue<ControllerMessage> in = new LinkedBlockingQueue<>();
            out = stub.connect(new StreamObserver<>() {
                @Override
                public void onNext(ControllerMessage m) {
                    if (m.hasRun()) {
                        in.add(m);
                    }
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {}
            });
            out.onNext(hello(helloId));
            return in;
        }

        CompletableFuture<Status> connectAndWaitForEnd(String helloId) {
            CompletableFuture<Status> ended = new CompletableFuture<>();
            StreamObserver<AgentMessage> s = stub.connect(new StreamObserver<>() {
                @Override
                public void onNext(ControllerMessage m) {}

                @Override
                public void onError(Throwable t) {
                    ended.complete(Status.fromThrowable(t));
                }

                @Override
                public void onCompleted() {
                    ended.complete(Status.OK);
                }
            });
            s.onNext(hello(helloId));
            return ended;
        }

        void result(String taskId, String path) {
            out.onNext(AgentMessage.newBuilder().setResult(dev.deploykit.transport.grpc.proto.TaskResult.newBuilder()
                    .setTaskId(taskId).setArtifactPath(path)).build());
        }

        String fetch(String sha256) {
            StringBuilder text = new StringBuilder();
            Iterator<ArtifactChunk> chunks = blocking.fetchArtifact(FetchArtifactRequest.newBuilder().setSha256(sha256).build());
            chunks.forEachRemaining(c -> text.append(c.getData().toStringUtf8()));
            assertEquals(sha256, Sha256.hex(digestOf(text.toString())));
            return text.toString();
        }

        StatusRuntimeException fetchError(String sha256, String asAgent) {
            try {
                blocking.fetchArtifact(FetchArtifactRequest.newBuilder().setSha256(sha256).setAgentId(asAgent).build())
                        .forEachRemaining(c -> { });
            } catch (StatusRuntimeException e) {
                return e;
            }
            throw new AssertionError("fetching " + sha256 + " as " + asAgent + " was not refused");
        }

        private AgentMessage hello(String id) {
            return AgentMessage.newBuilder().setHello(Hello.newBuilder().setAgentId(id).setHostname("handmade")
                    .setOsRelease("ID=debian\n").setArch("x86_64")).build();
        }
    }

    private static java.security.MessageDigest digestOf(String text) {
        java.security.MessageDigest d = Sha256.newDigest();
        d.update(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return d;
    }
}
