package dev.deploykit.transport.grpc;

import dev.deploykit.Binding;
import dev.deploykit.Facts;
import dev.deploykit.Server;
import dev.deploykit.Servers;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.transport.grpc.proto.AgentMessage;
import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.ArtifactChunk;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import dev.deploykit.transport.grpc.proto.FetchArtifactRequest;
import dev.deploykit.transport.grpc.proto.Hello;
import dev.deploykit.transport.grpc.proto.Welcome;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's gRPC endpoint that DeployKit agents dial into. An agent that connects with the
 * right enrollment token (and, with mutual TLS, a client certificate signed by the configured CA) is
 * registered as a {@link Server} bound to {@link Binding#agent}, with the OS facts it reports; its
 * {@link #transport()} then runs node work on it. TLS is on unless {@link Builder#insecurePlaintext()}
 * is called explicitly.
 *
 * <pre>{@code
 * AgentGateway gateway = AgentGateway.builder()
 *         .port(7443)
 *         .tls(Path.of("controller.crt"), Path.of("controller.key"))
 *         .clientCa(Path.of("agents-ca.crt"))          // mutual TLS: recommended
 *         .tokenFile(Path.of("/etc/deploykit/enrollment-token"))
 *         .build();
 * DeployKit kit = DeployKit.builder().transport(gateway.transport()).build();
 * gateway.start(kit.servers());
 * }</pre>
 *
 * <p>Thread-safe. The caller closes it (after the DeployKit that uses its transport).
 */
public final class AgentGateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AgentGateway.class);

    private final Builder options;
    private final Map<String, AgentLink> links = new ConcurrentHashMap<>();
    private final Map<String, ArtifactStore> offers = new ConcurrentHashMap<>();
    private final AtomicLong artifactBytesServed = new AtomicLong();
    private final AgentTransport transport = new AgentTransport(this);
    private io.grpc.Server server;
    private Servers servers;

    private AgentGateway(Builder options) {
        this.options = options;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The transport to register on the DeployKit builder. */
    public AgentTransport transport() {
        return transport;
    }

    /** Starts listening; agents that connect are registered in {@code servers}. */
    public synchronized AgentGateway start(Servers registry) {
        if (server != null) {
            throw new IllegalStateException("the gateway is already started");
        }
        this.servers = registry;
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(options.host, options.port), credentials())
                .addService(ServerInterceptors.intercept(new Service(), new TokenAuth(options.token)))
                .maxInboundMessageSize(options.maxMessageBytes)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .permitKeepAliveTime(10, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true);
        try {
            server = builder.build().start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + options.host + ":" + options.port, e);
        }
        log.info("agent gateway listening on {}:{} ({})", options.host, port(), options.insecure ? "PLAINTEXT" : "TLS");
        return this;
    }

    private ServerCredentials credentials() {
        if (options.insecure) {
            log.warn("agent gateway runs WITHOUT TLS: tokens and commands cross the network in clear text");
            return InsecureServerCredentials.create();
        }
        try {
            TlsServerCredentials.Builder tls = TlsServerCredentials.newBuilder().keyManager(options.certChain.toFile(), options.privateKey.toFile());
            if (options.clientCa != null) {
                tls.trustManager(options.clientCa.toFile()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
            }
            return tls.build();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the gateway's TLS files", e);
        }
    }

    /** The port it listens on (useful when built with port 0). */
    public int port() {
        return server.getPort();
    }

    /** Ids of the agents connected now. */
    public Set<String> connectedAgents() {
        Set<String> ids = new java.util.TreeSet<>();
        links.forEach((id, link) -> {
            if (link.connected()) {
                ids.add(id);
            }
        });
        return ids;
    }

    /** Total artifact bytes sent to agents, for monitoring. */
    public long artifactBytesServed() {
        return artifactBytesServed.get();
    }

    AgentLink link(String agentId) {
        return links.get(agentId);
    }

    /** Makes an artifact fetchable by agents from {@code source}. */
    void offer(String sha256, ArtifactStore source) {
        offers.put(sha256, source);
    }

    Duration reconnectGrace() {
        return options.reconnectGrace;
    }

    @Override
    public synchronized void close() {
        if (server != null) {
            server.shutdownNow();
            try {
                server.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void register(Hello hello, Facts facts) {
        if (servers == null) {
            return;
        }
        Instant now = Instant.now();
        Server known = servers.get(hello.getAgentId()).orElse(null);
        if (known == null) {
            servers.register(new Server(hello.getAgentId(), hello.getHostname(), hello.getAddressesList(), hello.getLabelsMap(),
                    binding(hello), facts, hello.getInventoryMap(), now));
        } else {
            Map<String, String> labels = new HashMap<>(hello.getLabelsMap());
            labels.putAll(known.labels());
            Map<String, String> inventory = new HashMap<>(known.inventory());
            inventory.putAll(hello.getInventoryMap());
            servers.update(new Server(known.id(), hello.getHostname(), hello.getAddressesList(), labels, binding(hello), facts,
                    inventory, now));
        }
    }

    /** The agent binding, with the install root the agent reported (what other controllers relaying to it need). */
    private static Binding binding(Hello hello) {
        String root = hello.getInstallRoot().isEmpty() ? "/" : hello.getInstallRoot();
        return new Binding("agent", Map.of("agentId", Binding.agent(hello.getAgentId()).require("agentId"), "root", root));
    }

    private final class Service extends AgentServiceGrpc.AgentServiceImplBase {
        @Override
        public StreamObserver<AgentMessage> connect(StreamObserver<ControllerMessage> responses) {
            return new StreamObserver<>() {
                private AgentLink link;

                @Override
                public void onNext(AgentMessage message) {
                    switch (message.getKindCase()) {
                        case HELLO -> hello(message.getHello());
                        case HEARTBEAT -> {
                            if (link != null) {
                                link.seen();
                            }
                        }
                        case OUTPUT -> {
                            if (link != null) {
                                link.output(message.getOutput());
                            }
                        }
                        case RESULT -> {
                            if (link != null) {
                                link.result(message.getResult());
                            }
                        }
                        default -> { }
                    }
                }

                private void hello(Hello hello) {
                    if (link != null) {
                        return;
                    }
                    try {
                        Binding.agent(hello.getAgentId());
                    } catch (IllegalArgumentException e) {
                        responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                        return;
                    }
                    Facts facts = Facts.parseOsRelease(hello.getOsRelease(), hello.getArch());
                    register(hello, facts);
                    responses.onNext(ControllerMessage.newBuilder().setWelcome(Welcome.newBuilder()
                            .setControllerId(options.controllerId)
                            .setHeartbeatIntervalMillis(options.heartbeat.toMillis())).build());
                    link = links.computeIfAbsent(hello.getAgentId(), AgentLink::new);
                    link.attach(responses, facts, hello.getInstallRoot().isEmpty() ? "/" : hello.getInstallRoot());
                    log.info("agent {} connected from {} ({} {})", hello.getAgentId(), hello.getHostname(), facts.osId(), facts.osVersion());
                }

                @Override
                public void onError(Throwable t) {
                    closed();
                }

                @Override
                public void onCompleted() {
                    closed();
                    responses.onCompleted();
                }

                private void closed() {
                    if (link != null) {
                        link.detach(responses);
                        log.info("agent {} disconnected", link.agentId);
                    }
                }
            };
        }

        @Override
        public void fetchArtifact(FetchArtifactRequest request, StreamObserver<ArtifactChunk> responses) {
            ArtifactStore source = offers.get(request.getSha256());
            if (source == null) {
                responses.onError(Status.NOT_FOUND.withDescription("artifact " + request.getSha256() + " is not offered").asRuntimeException());
                return;
            }
            ServerCallStreamObserver<ArtifactChunk> out = (ServerCallStreamObserver<ArtifactChunk>) responses;
            InputStream in;
            try {
                in = source.open(request.getSha256(), request.getOffset());
            } catch (RuntimeException e) {
                responses.onError(Status.NOT_FOUND.withDescription(e.getMessage()).asRuntimeException());
                return;
            }
            // Send only while the transport can take more, so a slow agent never makes us buffer a whole file.
            Object lock = new Object();
            boolean[] done = {false};
            Runnable pump = () -> {
                synchronized (lock) {
                    try {
                        while (!done[0] && out.isReady() && !out.isCancelled()) {
                            // readNBytes(int) would read in 8 KiB steps and copy them together; this reads into the chunk itself
                            byte[] chunk = new byte[options.chunkBytes];
                            int n = in.readNBytes(chunk, 0, chunk.length);
                            if (n == 0) {
                                done[0] = true;
                                in.close();
                                out.onCompleted();
                                return;
                            }
                            artifactBytesServed.addAndGet(n);
                            // the chunk array is never touched again, so wrap it instead of copying it
                            out.onNext(ArtifactChunk.newBuilder().setData(UnsafeByteOperations.unsafeWrap(chunk, 0, n)).build());
                        }
                        if (out.isCancelled() && !done[0]) {
                            done[0] = true;
                            in.close();
                        }
                    } catch (IOException e) {
                        done[0] = true;
                        out.onError(Status.INTERNAL.withDescription("reading artifact: " + e.getMessage()).asRuntimeException());
                    }
                }
            };
            out.setOnReadyHandler(pump);
            out.setOnCancelHandler(() -> {
                synchronized (lock) {
                    if (!done[0]) {
                        done[0] = true;
                        try {
                            in.close();
                        } catch (IOException ignored) {
                            // nothing more to read anyway
                        }
                    }
                }
            });
            pump.run();
        }
    }

    /** Options for {@link AgentGateway}. Not thread-safe. */
    public static final class Builder {
        private String host = "0.0.0.0";
        private int port = 7443;
        private Path certChain;
        private Path privateKey;
        private Path clientCa;
        private boolean insecure;
        private String token;
        private String controllerId = "controller";
        private Duration heartbeat = Duration.ofSeconds(10);
        private Duration reconnectGrace = Duration.ofMinutes(2);
        private int maxMessageBytes = 4 * 1024 * 1024;
        private int chunkBytes = 256 * 1024;

        private Builder() {}

        public Builder host(String host) {
            this.host = host;
            return this;
        }

        /** Port to listen on; 0 picks a free one. Default 7443. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** The gateway's certificate chain and private key (PEM). Required unless insecure. */
        public Builder tls(Path certChain, Path privateKey) {
            this.certChain = certChain;
            this.privateKey = privateKey;
            return this;
        }

        /** Require agents to present a client certificate signed by this CA (mutual TLS). */
        public Builder clientCa(Path caCert) {
            this.clientCa = caCert;
            return this;
        }

        /** Plaintext, for demos and tests on loopback only. Tokens and commands travel in clear text. */
        public Builder insecurePlaintext() {
            this.insecure = true;
            return this;
        }

        public Builder token(String token) {
            this.token = token;
            return this;
        }

        public Builder tokenFile(Path file) {
            try {
                this.token = Files.readString(file, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the enrollment token from " + file, e);
            }
            return this;
        }

        public Builder controllerId(String id) {
            this.controllerId = id;
            return this;
        }

        /** How often agents send heartbeats. Default 10 s. */
        public Builder heartbeat(Duration interval) {
            this.heartbeat = interval;
            return this;
        }

        /** How long a task waits for its agent to come back after a disconnect. Default 2 min. */
        public Builder reconnectGrace(Duration grace) {
            this.reconnectGrace = grace;
            return this;
        }

        /** Largest message accepted from an agent. Default 4 MiB. */
        public Builder maxMessageBytes(int bytes) {
            this.maxMessageBytes = bytes;
            return this;
        }

        /** Artifact chunk size. Default 256 KiB (see benchmarks/reports). */
        public Builder chunkBytes(int bytes) {
            this.chunkBytes = bytes;
            return this;
        }

        public AgentGateway build() {
            if (token == null) {
                throw new IllegalArgumentException("an enrollment token is required: token(...) or tokenFile(...)");
            }
            if (!insecure && (certChain == null || privateKey == null)) {
                throw new IllegalArgumentException("TLS needs tls(certChain, privateKey); for plaintext call insecurePlaintext() explicitly");
            }
            new TokenAuth(token);
            return new AgentGateway(this);
        }
    }
}
