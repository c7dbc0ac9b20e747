package dev.deploykit.transport.grpc;

import dev.deploykit.Binding;
import dev.deploykit.Facts;
import dev.deploykit.InventoryChange;
import dev.deploykit.InventoryReport;
import dev.deploykit.InventorySource;
import dev.deploykit.ServiceStatus;
import dev.deploykit.Server;
import dev.deploykit.Servers;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.support.DaemonThreads;
import dev.deploykit.spi.support.LastSeenBatch;
import dev.deploykit.spi.support.TlsFiles;
import dev.deploykit.transport.grpc.proto.AgentMessage;
import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.ArtifactChunk;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import dev.deploykit.transport.grpc.proto.EnrollRequest;
import dev.deploykit.transport.grpc.proto.EnrollResponse;
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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's gRPC endpoint that DeployKit agents dial into. An agent that connects is
 * registered as a {@link Server} bound to {@link Binding#agent}, with the OS facts it reports; its
 * {@link #transport()} then runs node work on it. TLS is on unless {@link Builder#insecurePlaintext()}
 * is called explicitly.
 *
 * <p>Who an agent is: with {@link Builder#clientCa(Path)} (mutual TLS, the production setup) its id is
 * the one in its client certificate, the server record remembers the certificate's fingerprint, and a
 * Hello naming another id, a server bound to another transport, or a different certificate is
 * refused with PERMISSION_DENIED; revoked fingerprints are refused at connect. New nodes get their
 * certificate by enrolling ({@link Builder#enrollment(AgentCa, Enrollment)}) with a limited-use token
 * from {@link #enrollmentTokens()}. Without a client CA, a shared fleet token is the only credential
 * and agents name themselves: a demo mode, logged as such. In every mode a second connection under a
 * live agent's id is refused (and both sides are told), new agents are limited per minute, and an
 * agent may fetch only artifacts that a live task offered to it.
 *
 * <pre>{@code
 * AgentGateway gateway = AgentGateway.builder()
 *         .port(7443)
 *         .tls(Path.of("controller.crt"), Path.of("controller.key"))
 *         .clientCa(Path.of("agents-ca.crt"))                          // agent identity from certificates
 *         .enrollment(AgentCa.load(Path.of("agents-ca.crt"), Path.of("agents-ca.key")), Enrollment.manual())
 *         .build();
 * String token = gateway.enrollmentTokens().issue(5, Duration.ofHours(1));   // for the next five nodes
 * DeployKit kit = DeployKit.builder().transport(gateway.transport()).build();
 * gateway.start(kit.servers());
 * }</pre>
 *
 * <p>Heartbeats: agents send one every {@link Builder#heartbeat}; the gateway notes the time in
 * memory and writes the whole batch to the store every {@link Builder#lastSeenFlush} with one
 * {@link Servers#recordSeen} call (so {@link Server#lastSeen()}, and with it
 * {@link dev.deploykit.Liveness}, is at most one flush interval behind). What is pending is written
 * when the DeployKit closes this gateway's transport, and when the gateway closes.
 *
 * <p>Thread-safe. The caller closes it (after the DeployKit that uses its transport).
 */
public final class AgentGateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AgentGateway.class);

    private final Builder options;
    private final Map<String, AgentLink> links = new ConcurrentHashMap<>();
    private final ArtifactOffers offers = new ArtifactOffers();
    final RelayTree relayTree;
    private final Set<String> revoked = ConcurrentHashMap.newKeySet();
    private final EnrollmentTokens enrollmentTokens = new EnrollmentTokens(Clock.systemUTC());
    private final NewAgentLimit newAgents;
    private final AtomicLong artifactBytesServed = new AtomicLong();
    private final Map<String, AtomicLong> relayBytes = new ConcurrentHashMap<>();
    private final AgentTransport transport = new AgentTransport(this);
    private io.grpc.Server server;
    private Servers servers;
    /** Heartbeats not written yet; null before start and once the kit's transport is closed. */
    private volatile LastSeenBatch seen;
    private final ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("deploykit-gateway-seen-"));

    private AgentGateway(Builder options) {
        this.options = options;
        this.relayTree = new RelayTree(options.relayFanOut, Duration.ofHours(1), links::get);
        this.revoked.addAll(options.revoked);
        this.newAgents = new NewAgentLimit(options.newAgentsPerMinute, Clock.systemUTC());
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
        this.seen = new LastSeenBatch(registry::recordSeen);
        long flushMillis = options.lastSeenFlush.toMillis();
        flusher.scheduleWithFixedDelay(this::flushSeen, flushMillis, flushMillis, TimeUnit.MILLISECONDS);
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(options.host, options.port), credentials())
                .addService(ServerInterceptors.intercept(new Service(), new Authenticator(options.token, options.clientCa != null, revoked)))
                .maxInboundMessageSize(options.maxMessageBytes)
                .keepAliveTime(options.keepAlive.toMillis(), TimeUnit.MILLISECONDS)
                .keepAliveTimeout(Math.min(10_000, options.keepAlive.toMillis()), TimeUnit.MILLISECONDS)
                .permitKeepAliveTime(Math.min(10_000, options.keepAlive.toMillis()), TimeUnit.MILLISECONDS)
                .permitKeepAliveWithoutCalls(true);
        try {
            server = builder.build().start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + options.host + ":" + options.port, e);
        }
        log.info("agent gateway listening on {}:{} ({})", options.host, port(), options.insecure ? "PLAINTEXT" : "TLS");
        if (options.clientCa == null) {
            log.warn("agent gateway without a client CA: agents name themselves and anyone holding the fleet token can "
                    + "register a new id; use clientCa(...) for agent identities from certificates outside demos");
        }
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
                // enrolling agents have no certificate yet: let them in for Enroll, the Authenticator refuses the rest
                tls.trustManager(TlsFailures.clientTrust(options.clientCa)).clientAuth(options.enrollment != null
                        ? TlsServerCredentials.ClientAuth.OPTIONAL : TlsServerCredentials.ClientAuth.REQUIRE);
            }
            // failed handshakes are logged with the agent's address and the reason
            return TlsFailures.watched(tls.build(), options.certChain, options.clientCa);
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

    /**
     * Artifact bytes each relay agent served to its peers, by the relay's id, as the peers reported
     * keeping them (since this gateway started).
     */
    public Map<String, Long> relayBytesServed() {
        Map<String, Long> copy = new java.util.TreeMap<>();
        relayBytes.forEach((id, n) -> copy.put(id, n.get()));
        return copy;
    }

    void countRelayed(String relayId, long bytes) {
        relayBytes.computeIfAbsent(relayId, k -> new AtomicLong()).addAndGet(bytes);
    }

    AgentLink link(String agentId) {
        return links.get(agentId);
    }

    /** Makes an artifact fetchable by one agent from {@code source}, until the handle is closed. */
    ArtifactOffers.Offer offer(String agentId, String sha256, ArtifactStore source) {
        return offers.offer(agentId, sha256, source);
    }

    /** Artifact offers live now (one per agent and digest), for monitoring and tests. */
    public int liveOffers() {
        return offers.size();
    }

    /** Tokens that let new agents enroll; issue them with {@link EnrollmentTokens#issue}. */
    public EnrollmentTokens enrollmentTokens() {
        return enrollmentTokens;
    }

    /**
     * Refuses the certificate with this SHA-256 fingerprint from now on (its agent is disconnected at
     * once); a server bound to it is unbound, so the node can enroll again. Lasts for this gateway's
     * life: keep the list in the controller's configuration ({@link Builder#revoked}) too.
     */
    public void revoke(String fingerprint) {
        String fp = fingerprint.toLowerCase(java.util.Locale.ROOT).replace(":", "");
        revoked.add(fp);
        links.values().stream().filter(l -> fp.equals(l.fingerprint())).forEach(l -> {
            log.warn("agent {}: certificate {} revoked; disconnecting it", l.agentId, fp);
            l.disconnect(Status.PERMISSION_DENIED.withDescription("the certificate of agent " + l.agentId + " was revoked"));
        });
        if (servers != null) {
            servers.list().stream().filter(s -> fp.equals(s.binding().attributes().get(CERT))).forEach(s ->
                    servers.update(s.withBinding(unpinned(s.binding()))));
        }
    }

    Duration reconnectGrace() {
        return options.reconnectGrace;
    }

    /** Agent {@code agentId} was heard from now: noted in memory, written with the next flush. */
    private void heardFrom(String agentId) {
        LastSeenBatch batch = seen;
        if (batch != null) {
            batch.seen(agentId, Instant.now());
        }
    }

    /** Writes the heartbeats noted since the last flush, in one store call; a failure is logged and retried next time. */
    private void flushSeen() {
        LastSeenBatch batch = seen;
        if (batch == null) {
            return;
        }
        try {
            batch.flush();
        } catch (RuntimeException e) {
            log.warn("cannot record the heartbeats of {} agents (retried at the next flush): {}", batch.pending(), e.getMessage());
        }
    }

    /**
     * The DeployKit closes this gateway's transport before its store: write the pending heartbeats
     * while the store is open, and record no more (the store is closed next).
     */
    void transportClosed() {
        flusher.shutdownNow();
        flushSeen();
        seen = null;
    }

    @Override
    public synchronized void close() {
        flusher.shutdownNow();
        if (server != null) {
            server.shutdownNow();
            try {
                server.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        flushSeen();
        seen = null;
    }

    private void register(Server known, Hello hello, Facts facts, AgentIdentity identity) {
        if (servers == null) {
            return;
        }
        Instant now = Instant.now();
        Binding binding = binding(hello, identity);
        if (known == null) {
            servers.register(new Server(hello.getAgentId(), hello.getHostname(), hello.getAddressesList(), hello.getLabelsMap(),
                    binding, facts, hello.getInventoryMap(), now));
        } else {
            Map<String, String> labels = new HashMap<>(hello.getLabelsMap());
            labels.putAll(known.labels());
            Map<String, String> inventory = new HashMap<>(known.inventory());
            inventory.putAll(hello.getInventoryMap());
            servers.update(new Server(known.id(), hello.getHostname(), hello.getAddressesList(), labels, binding, facts,
                    inventory, now));
        }
    }

    /**
     * Applies an agent's inventory report to its server's stored inventory: one store call per report,
     * with the history of what changed. A failure is logged; the agent's next full report (on its next
     * connection) brings the inventory back in step.
     */
    private void inventory(String agentId, dev.deploykit.transport.grpc.proto.InventoryReport report) {
        if (servers == null) {
            return;
        }
        try {
            List<InventoryChange> changes = servers.recordInventory(agentId, inventoryReport(report));
            if (!changes.isEmpty()) {
                log.info("agent {} inventory: {}", agentId, changes.size() <= 5 ? changes : changes.size() + " changes");
            }
        } catch (RuntimeException e) {
            log.warn("cannot record the inventory report of agent {}: {}", agentId, e.toString());
        }
    }

    private static InventoryReport inventoryReport(dev.deploykit.transport.grpc.proto.InventoryReport report) {
        Map<String, String> changed = new LinkedHashMap<>();
        report.getChangedList().forEach(e -> changed.put(e.getName(), e.getVersion()));
        List<ServiceStatus> services = !report.getServicesListed() ? null : report.getServicesList().stream()
                .map(s -> new ServiceStatus(s.getName(), ServiceStatus.State.valueOf(s.getState()), s.getPid(),
                        s.getHasExitCode() ? s.getExitCode() : null, s.getMemoryBytes(), s.getMemoryLimit(), s.getCpuMicros(), s.getOomKills()))
                .toList();
        return new InventoryReport(report.getFull(), changed, Set.copyOf(report.getRemovedList()), Set.copyOf(report.getFormatsList()),
                report.getAfterTask() ? InventorySource.AFTER_TASK : InventorySource.AGENT_REPORT, services);
    }

    /** Binding attribute: the SHA-256 fingerprint of the certificate the server's agent must present. */
    static final String CERT = "certSha256";

    /**
     * The agent binding, with the install root the agent reported (what other controllers relaying to
     * it need) and, with mutual TLS, the certificate it is bound to.
     */
    private static Binding binding(Hello hello, AgentIdentity identity) {
        Map<String, String> attributes = new HashMap<>();
        attributes.put("agentId", Binding.agent(hello.getAgentId()).require("agentId"));
        attributes.put("root", hello.getInstallRoot().isEmpty() ? "/" : hello.getInstallRoot());
        if (identity != null) {
            attributes.put(CERT, identity.fingerprint());
        }
        return new Binding("agent", attributes);
    }

    private static Binding unpinned(Binding binding) {
        Map<String, String> attributes = new HashMap<>(binding.attributes());
        attributes.remove(CERT);
        return new Binding(binding.scheme(), attributes);
    }

    /**
     * Why the agent {@code agentId} may not take {@code known}'s place, or null when it may: a server
     * bound to another transport is never taken over, and a server bound to a certificate accepts only
     * that certificate.
     */
    private static String takeoverRefusal(Server known, String agentId, AgentIdentity identity) {
        if (known == null) {
            return null;
        }
        if (!known.binding().scheme().equals("agent")) {
            return "server " + agentId + " is bound to the " + known.binding().scheme() + " transport "
                    + known.binding().attributes() + "; an agent cannot take it over";
        }
        String pinned = known.binding().attributes().get(CERT);
        if (pinned != null && (identity == null || !pinned.equals(identity.fingerprint()))) {
            return "agent " + agentId + " is bound to certificate " + pinned + ", but this connection presented "
                    + (identity == null ? "none" : identity.fingerprint()) + " (revoke the old one to let the node enroll again)";
        }
        return null;
    }

    private static final String TOO_MANY = "too many new agents";

    /**
     * Why this Hello may not attach, or null when it may: the id must be the certificate's, the server
     * must not belong to another transport or certificate, a live connection under the same id is not
     * replaced (a clone, or an impostor), and new agents are limited per minute.
     */
    private String admit(Hello hello, AgentIdentity identity) {
        String id = hello.getAgentId();
        if (identity != null && !identity.agentId().equals(id)) {
            return "the client certificate names agent " + identity.agentId() + ", but the Hello says " + id;
        }
        Server known = servers == null ? null : servers.get(id).orElse(null);
        String takeover = takeoverRefusal(known, id, identity);
        if (takeover != null) {
            return takeover;
        }
        AgentLink live = links.get(id);
        if (live != null && live.connected()) {
            Duration silent = Duration.between(live.lastSeen(), Instant.now());
            if (silent.compareTo(options.heartbeat.multipliedBy(3)) < 0) {
                String text = "another connection as agent " + id + " from " + remote() + " (host " + hello.getHostname()
                        + ") was refused: agent " + id + " is connected from " + live.remote() + " since " + live.connectedSince()
                        + "; if this node's state dir or VM image was copied, give the copy its own identity";
                live.notice(text);
                return "agent " + id + " is already connected from " + live.remote() + " since " + live.connectedSince()
                        + " and was heard from " + silent.toMillis() + " ms ago; a second connection is refused (a cloned state dir?)";
            }
            log.info("agent {} reconnected from {}; its connection from {} had been silent for {} s and is replaced", id, remote(),
                    live.remote(), silent.toSeconds());
            live.disconnect(Status.ABORTED.withDescription("replaced by a newer connection of agent " + id + " from " + remote()));
        }
        if (known == null && !newAgents.tryAdmit()) {
            return TOO_MANY + ": at most " + newAgents.perMinute() + " per minute may register; try again later";
        }
        return null;
    }

    private static String remote() {
        java.net.SocketAddress remote = Authenticator.REMOTE.get();
        return remote == null ? "?" : remote.toString();
    }

    private final class Service extends AgentServiceGrpc.AgentServiceImplBase {
        @Override
        public StreamObserver<AgentMessage> connect(StreamObserver<ControllerMessage> responses) {
            AgentIdentity identity = Authenticator.IDENTITY.get();
            return new StreamObserver<>() {
                private AgentLink link;

                @Override
                public void onNext(AgentMessage message) {
                    if (link != null) {
                        heardFrom(link.agentId);
                    }
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
                        case INVENTORY -> {
                            if (link != null) {
                                inventory(link.agentId, message.getInventory());
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
                    String id = hello.getAgentId();
                    String refusal = admit(hello, identity);
                    if (refusal != null) {
                        log.warn("refused agent {} from {} (host {}): {}", id, remote(), hello.getHostname(), refusal);
                        responses.onError((refusal.startsWith(TOO_MANY) ? Status.RESOURCE_EXHAUSTED : Status.PERMISSION_DENIED)
                                .withDescription(refusal).asRuntimeException());
                        return;
                    }
                    Facts facts = Facts.parseOsRelease(hello.getOsRelease(), hello.getArch());
                    register(servers == null ? null : servers.get(id).orElse(null), hello, facts, identity);
                    responses.onNext(ControllerMessage.newBuilder().setWelcome(Welcome.newBuilder()
                            .setControllerId(options.controllerId)
                            .setHeartbeatIntervalMillis(options.heartbeat.toMillis())).build());
                    link = links.computeIfAbsent(id, AgentLink::new);
                    link.attach(responses, facts, hello.getInstallRoot().isEmpty() ? "/" : hello.getInstallRoot(), remote(),
                            identity == null ? null : identity.fingerprint());
                    // a relay is named to peers only when its certificate says who it is
                    link.relay(identity == null ? null : hello.getRelayEndpoint(), hello.getLabelsMap());
                    log.info("agent {} connected from {} ({}, {} {})", id, remote(), hello.getHostname(), facts.osId(), facts.osVersion());
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
        public void enroll(EnrollRequest request, StreamObserver<EnrollResponse> responses) {
            Status refused = enrollRefusal(request);
            if (refused != null) {
                log.warn("refused enrollment of '{}' from {} (host {}): {}", request.getRequestedId(), remote(), request.getHostname(),
                        refused.getDescription());
                responses.onError(refused.asRuntimeException());
                return;
            }
            Enrollment.Decision decision = options.enrollment.decide(new Enrollment.Request(request.getRequestedId(),
                    request.getHostname(), request.getLabelsMap(), Authenticator.REMOTE.get()));
            if (decision instanceof Enrollment.Decision.Approved a) {
                approved(a.agentId(), request, responses);
            } else if (decision instanceof Enrollment.Decision.Pending p) {
                responses.onNext(EnrollResponse.newBuilder().setPending(p.reason()).setAgentId(request.getRequestedId()).build());
                responses.onCompleted();
            } else {
                String reason = ((Enrollment.Decision.Refused) decision).reason();
                log.warn("enrollment of '{}' from {} refused by policy: {}", request.getRequestedId(), remote(), reason);
                responses.onError(Status.PERMISSION_DENIED.withDescription(reason).asRuntimeException());
            }
        }

        private Status enrollRefusal(EnrollRequest request) {
            if (options.enrollment == null) {
                return Status.UNIMPLEMENTED.withDescription("enrollment is not enabled on this gateway; give the agent a certificate");
            }
            if (!enrollmentTokens.valid(request.getEnrollmentToken())) {
                return Status.UNAUTHENTICATED.withDescription("unknown, used-up or expired enrollment token");
            }
            try {
                Binding.agent(request.getRequestedId());
            } catch (IllegalArgumentException e) {
                return Status.INVALID_ARGUMENT.withDescription(e.getMessage());
            }
            return null;
        }

        private void approved(String agentId, EnrollRequest request, StreamObserver<EnrollResponse> responses) {
            Server known = servers == null ? null : servers.get(agentId).orElse(null);
            String takeover = takeoverRefusal(known, agentId, null);
            if (takeover != null) {
                log.warn("refused enrollment of {} from {}: {}", agentId, remote(), takeover);
                responses.onError(Status.PERMISSION_DENIED.withDescription(takeover).asRuntimeException());
                return;
            }
            if (known == null && !newAgents.tryAdmit()) {
                responses.onError(Status.RESOURCE_EXHAUSTED.withDescription(TOO_MANY + ": at most " + newAgents.perMinute()
                        + " per minute may enroll; try again later").asRuntimeException());
                return;
            }
            java.security.cert.X509Certificate cert;
            try {
                cert = options.ca.sign(agentId, request.getCsrPem());
            } catch (IllegalArgumentException e) {
                responses.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
                return;
            }
            if (!enrollmentTokens.consume(request.getEnrollmentToken())) {
                responses.onError(Status.UNAUTHENTICATED.withDescription("unknown, used-up or expired enrollment token").asRuntimeException());
                return;
            }
            log.info("enrolled agent {} from {} (host {}), certificate {}", agentId, remote(), request.getHostname(),
                    AgentIdentity.fingerprint(cert));
            responses.onNext(EnrollResponse.newBuilder().setCertificatePem(AgentCa.pem(cert)).setAgentId(agentId).build());
            responses.onCompleted();
        }

        @Override
        public void fetchArtifact(FetchArtifactRequest request, StreamObserver<ArtifactChunk> responses) {
            AgentIdentity identity = Authenticator.IDENTITY.get();
            String agentId = identity != null ? identity.agentId() : request.getAgentId();
            if (identity != null && !request.getAgentId().isEmpty() && !request.getAgentId().equals(agentId)) {
                responses.onError(Status.PERMISSION_DENIED.withDescription("the certificate names agent " + agentId
                        + ", but the request is for " + request.getAgentId()).asRuntimeException());
                return;
            }
            ArtifactOffers.Source source = offers.source(agentId, request.getSha256());
            if (source == null) {
                log.warn("agent {} from {} asked for artifact {}, which no live task offered to it", agentId, remote(), request.getSha256());
                responses.onError(Status.PERMISSION_DENIED.withDescription("artifact " + request.getSha256()
                        + " was not offered to agent " + agentId).asRuntimeException());
                return;
            }
            ServerCallStreamObserver<ArtifactChunk> out = (ServerCallStreamObserver<ArtifactChunk>) responses;
            InputStream in;
            try {
                in = source.store().open(request.getSha256(), request.getOffset());
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
                            source.served().addAndGet(n);
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
        private Duration lastSeenFlush = Duration.ofSeconds(10);
        private Duration reconnectGrace = Duration.ofMinutes(2);
        private Duration keepAlive = Duration.ofSeconds(30);
        private int maxMessageBytes = 4 * 1024 * 1024;
        private int chunkBytes = 256 * 1024;
        private int relayFanOut = 4;
        private AgentCa ca;
        private Enrollment enrollment;
        private final Set<String> revoked = new java.util.HashSet<>();
        private int newAgentsPerMinute = 60;
        private boolean selfNamed;

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

        /**
         * Require agents to present a client certificate signed by this CA (mutual TLS): an agent's id
         * is then the one its certificate names (SAN URI {@code deploykit:agent:<id>}, else CN).
         */
        public Builder clientCa(Path caCert) {
            this.clientCa = caCert;
            return this;
        }

        /** Plaintext, for demos and tests on loopback only. Tokens and commands travel in clear text. */
        public Builder insecurePlaintext() {
            this.insecure = true;
            return this;
        }

        /**
         * A fleet token every agent presents on every call. With {@link #clientCa} it is a second
         * credential besides the certificate; without one it is the only credential and agents name
         * themselves (the demo mode).
         */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /**
         * Lets agents without a certificate enroll: they present a token from
         * {@link AgentGateway#enrollmentTokens()} and a CSR, {@code policy} decides their id, and
         * {@code ca} signs their certificate. Needs {@link #clientCa} to trust {@code ca}'s certificate.
         */
        public Builder enrollment(AgentCa ca, Enrollment policy) {
            this.ca = ca;
            this.enrollment = policy;
            return this;
        }

        /**
         * Allows the demo mode without {@link #clientCa}: agents name themselves and the fleet
         * {@link #token} is their only credential, so anyone holding it can register a new id (never
         * take over an existing server or a live agent). Loopback demos and tests only.
         */
        public Builder trustSelfNamedAgents() {
            this.selfNamed = true;
            return this;
        }

        /** SHA-256 fingerprints (hex, colons allowed) of certificates to refuse. */
        public Builder revoked(java.util.Collection<String> fingerprints) {
            fingerprints.forEach(f -> revoked.add(f.toLowerCase(java.util.Locale.ROOT).replace(":", "")));
            return this;
        }

        /** At most this many new agents (enrollments and first registrations) per minute. Default 60. */
        public Builder maxNewAgentsPerMinute(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxNewAgentsPerMinute must be >= 1, but was " + max);
            }
            this.newAgentsPerMinute = max;
            return this;
        }

        public Builder tokenFile(Path file) {
            try {
                this.token = Files.readString(file, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the fleet token from " + file, e);
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

        /**
         * How often the heartbeats received are written to the store, all in one call
         * ({@link Servers#recordSeen}): with N controllers, N writes per interval, whatever the
         * number of agents. Keep heartbeat plus this interval below the kit's
         * {@link dev.deploykit.LivenessOptions#staleAfter()}. Default 10 s.
         */
        public Builder lastSeenFlush(Duration interval) {
            if (interval == null || interval.isNegative() || interval.isZero()) {
                throw new IllegalArgumentException("lastSeenFlush must be positive, but was " + interval);
            }
            this.lastSeenFlush = interval;
            return this;
        }

        /** How long a task waits for its agent to come back after a disconnect. Default 2 min. */
        public Builder reconnectGrace(Duration grace) {
            this.reconnectGrace = grace;
            return this;
        }

        /**
         * How often the gateway pings a quiet agent connection, and how long (at most 10 s) it waits
         * for the answer before it takes the connection as broken; agents may ping as often (at most
         * every 10 s, or this interval when shorter). Default 30 s.
         */
        public Builder keepAlive(Duration interval) {
            if (interval.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("keepAlive must be at least 1 s, but was " + interval);
            }
            this.keepAlive = interval;
            return this;
        }

        /** Largest message accepted from an agent. Default 4 MiB. */
        public Builder maxMessageBytes(int bytes) {
            this.maxMessageBytes = bytes;
            return this;
        }

        /**
         * How many agents one relay agent ({@code --relay}) serves an artifact to at once (default 4);
         * 0: agents always fetch from the controller.
         */
        public Builder relayFanOut(int agents) {
            if (agents < 0) {
                throw new IllegalArgumentException("relayFanOut must be >= 0, but was " + agents);
            }
            this.relayFanOut = agents;
            return this;
        }

        /** Artifact chunk size. Default 256 KiB (see benchmarks/reports). */
        public Builder chunkBytes(int bytes) {
            this.chunkBytes = bytes;
            return this;
        }

        public AgentGateway build() {
            if (clientCa == null && (token == null || !selfNamed)) {
                throw new IllegalArgumentException("agents need an identity: clientCa(...) for identities from certificates; "
                        + "only for demos, token(...) with trustSelfNamedAgents(), where agents name themselves");
            }
            if (token != null && token.length() < 16) {
                throw new IllegalArgumentException("the fleet token must be at least 16 characters");
            }
            if (!insecure && (certChain == null || privateKey == null)) {
                throw new IllegalArgumentException("TLS needs tls(certChain, privateKey); for plaintext call insecurePlaintext() explicitly");
            }
            if (!insecure) {
                // a wrong pair is refused here, naming both files, rather than failing every agent's handshake later
                try {
                    TlsFiles.checkPair(AgentCa.privateKey(Files.readString(privateKey)), TlsFiles.certificates(certChain).get(0), privateKey, certChain);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read the gateway's key " + privateKey, e);
                }
            }
            if (enrollment != null && (clientCa == null || insecure)) {
                throw new IllegalArgumentException("enrollment(...) needs TLS and clientCa(...) trusting the enrollment CA");
            }
            return new AgentGateway(this);
        }
    }
}
