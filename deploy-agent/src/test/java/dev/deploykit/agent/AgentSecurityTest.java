package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.DeployKit;
import dev.deploykit.Server;
import dev.deploykit.TransportException;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.transport.grpc.AgentGateway;
import dev.deploykit.transport.grpc.proto.AgentMessage;
import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import dev.deploykit.transport.grpc.proto.Hello;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Agents that should not get in do not get in, and nothing runs for them. */
class AgentSecurityTest {
    @TempDir
    Path dir;
    AgentFixtures.Pki pki;
    AgentGateway gateway;
    DeployKit kit;
    final List<AgentFixtures.AgentProcess> agents = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        pki = AgentFixtures.pki(dir);
        gateway = AgentFixtures.gateway(pki).maxMessageBytes(64 * 1024).build();
        kit = DeployKit.builder().transport(gateway.transport()).artifactDir(dir.resolve("artifacts")).build();
        gateway.start(kit.servers());
    }

    @AfterEach
    void tearDown() {
        agents.forEach(AgentFixtures.AgentProcess::close);
        kit.close();
        gateway.close();
    }

    private AgentFixtures.AgentProcess agent(String id, List<String> args) throws Exception {
        AgentFixtures.AgentProcess a = new AgentFixtures.AgentProcess(dir.resolve(id), args).start();
        agents.add(a);
        return a;
    }

    private void assertRefused(AgentFixtures.AgentProcess a, String id, String logFragment) throws Exception {
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> {
            try {
                return a.logText().contains(logFragment);
            } catch (Exception e) {
                return false;
            }
        }, "'" + logFragment + "' in the agent log of " + id);
        assertFalse(gateway.connectedAgents().contains(id));
        assertTrue(kit.servers().get(id).isEmpty(), id + " must not be registered");
    }

    /** Runs {@code touch marker} through the agent, fenced as {@code scope}/{@code epoch}. */
    private void touchFenced(String id, String scope, long epoch, Path marker) {
        try (NodeSession s = gateway.transport().open(Server.of(id, Binding.agent(id), java.util.Map.of()))) {
            s.fence(scope, epoch);
            assertEquals(0, s.exec(Command.of("touch", marker.toString()), OutputListener.IGNORE).exitCode());
        }
    }

    @Test
    void aTaskFromAControllerThatLostTheDeploymentIsRefusedEvenAfterAnAgentRestart() throws Exception {
        Path root = Files.createDirectories(dir.resolve("root-fenced"));
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN), gateway.port(), "fenced",
                dir.resolve("fenced"), root);
        AgentFixtures.AgentProcess a = agent("fenced", args);
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains("fenced"), "the agent to connect");
        touchFenced("fenced", "d-1", 2, root.resolve("new-owner"));

        TransportException stale = assertThrows(TransportException.class, () -> touchFenced("fenced", "d-1", 1, root.resolve("stale")));
        assertTrue(stale.getMessage().contains("fencing epoch 2"), stale.getMessage());
        assertFalse(Files.exists(root.resolve("stale")), "the stale controller's command did not run");

        a.kill9();
        agents.add(new AgentFixtures.AgentProcess(dir.resolve("fenced"), args).start());
        AgentFixtures.waitUntil(Duration.ofSeconds(30), () -> gateway.connectedAgents().contains("fenced"), "the agent to reconnect");
        assertThrows(TransportException.class, () -> touchFenced("fenced", "d-1", 1, root.resolve("stale-after-restart")));
        assertFalse(Files.exists(root.resolve("stale-after-restart")), "the agent remembers the epoch across restarts");
        touchFenced("fenced", "d-2", 1, root.resolve("other-deployment"));
        touchFenced("fenced", "d-1", 3, root.resolve("next-owner"));
        assertTrue(Files.exists(root.resolve("other-deployment")) && Files.exists(root.resolve("next-owner")));
    }

    @Test
    void wrongTokenIsRefusedWithUnauthenticated() throws Exception {
        List<String> args = AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(dir, "not-the-right-token-at-all"), gateway.port(), "intruder",
                dir.resolve("intruder"), dir);
        assertRefused(agent("intruder", args), "intruder", "UNAUTHENTICATED");
    }

    @Test
    void agentWithoutClientCertificateIsRefused() throws Exception {
        List<String> args = new ArrayList<>(List.of("--controller", "127.0.0.1:" + gateway.port(), "--token-file",
                AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN).toString(), "--ca", pki.ca().toString(), "--id", "nocert",
                "--state-dir", dir.resolve("nocert").toString()));
        assertRefused(agent("nocert", args), "nocert", "UNAVAILABLE");
    }

    @Test
    void plaintextAgentIsRefusedByTheTlsGatewayAndNeedsTheInsecureFlagToEvenTry() throws Exception {
        List<String> noFlag = List.of("--controller", "127.0.0.1:" + gateway.port(), "--token-file",
                AgentFixtures.tokenFile(dir, AgentFixtures.TOKEN).toString(), "--id", "plain", "--state-dir", dir.resolve("plain").toString());
        AgentFixtures.AgentProcess refusedAtStart = agent("plain", noFlag);
        assertTrue(refusedAtStart.process.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, refusedAtStart.process.exitValue());
        assertTrue(refusedAtStart.logText().contains("pass --insecure explicitly"), refusedAtStart.logText());

        List<String> insecure = new ArrayList<>(noFlag);
        insecure.add("--insecure");
        assertRefused(agent("plain", insecure), "plain", "UNAVAILABLE");
    }

    @Test
    void oversizedMessagesAreRefused() throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", gateway.port(), TlsChannelCredentials.newBuilder()
                .trustManager(pki.ca().toFile()).keyManager(pki.clientCert().toFile(), pki.clientKey().toFile()).build()).build();
        try {
            Metadata headers = new Metadata();
            headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + AgentFixtures.TOKEN);
            var stub = AgentServiceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
            CompletableFuture<Status> ended = new CompletableFuture<>();
            StreamObserver<AgentMessage> out = stub.connect(new StreamObserver<ControllerMessage>() {
                @Override
                public void onNext(ControllerMessage value) {}

                @Override
                public void onError(Throwable t) {
                    ended.complete(Status.fromThrowable(t));
                }

                @Override
                public void onCompleted() {
                    ended.complete(Status.OK);
                }
            });
            out.onNext(AgentMessage.newBuilder().setHello(Hello.newBuilder().setAgentId("huge").setOsRelease("x".repeat(200_000))).build());
            Status status = ended.get(30, TimeUnit.SECONDS);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status.toString());
            assertTrue(kit.servers().get("huge").isEmpty());
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void fetchingAnArtifactNeedsTheTokenToo() throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", gateway.port(), TlsChannelCredentials.newBuilder()
                .trustManager(pki.ca().toFile()).keyManager(pki.clientCert().toFile(), pki.clientKey().toFile()).build()).build();
        try {
            var stub = AgentServiceGrpc.newBlockingStub(channel);
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub.fetchArtifact(
                    dev.deploykit.transport.grpc.proto.FetchArtifactRequest.newBuilder().setSha256("0".repeat(64)).build()).hasNext());
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
        } finally {
            channel.shutdownNow();
        }
        assertFalse(Files.exists(dir.resolve("artifacts/sha256/" + "0".repeat(64))));
    }
}
