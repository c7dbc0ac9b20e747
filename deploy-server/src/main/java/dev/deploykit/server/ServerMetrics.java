package dev.deploykit.server;

import dev.deploykit.DeployKit;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.transport.grpc.AgentGateway;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The server's metrics in the Prometheus text format ({@code GET /metrics}): deployments by status,
 * node tasks by status, agents connected, artifact bytes served to agents, the latency of the store
 * read that counts them, and every API request by route and status. Counts come from one store
 * read per scrape, at most every {@link #REFRESH}.
 */
final class ServerMetrics {
    static final Duration REFRESH = Duration.ofSeconds(5);

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final DeployKit kit;
    private final Clock clock;
    private final Timer storeReads;
    private final Map<DeploymentStatus, Long> deployments = new EnumMap<>(DeploymentStatus.class);
    private final Map<NodeStatus, Long> tasks = new EnumMap<>(NodeStatus.class);
    private Instant countedAt = Instant.EPOCH;
    private final AgentGateway gateway;

    ServerMetrics(DeployKit kit, AgentGateway gateway, Clock clock) {
        this.kit = kit;
        this.gateway = gateway;
        this.clock = clock;
        storeReads = Timer.builder("deploykit.store.read").description("time to read every deployment from the store")
                .register(registry);
        for (DeploymentStatus s : DeploymentStatus.values()) {
            Gauge.builder("deploykit.deployments", this, m -> m.count(m.deployments, s)).tag("status", s.name())
                    .description("deployments by status").register(registry);
        }
        for (NodeStatus s : NodeStatus.values()) {
            Gauge.builder("deploykit.node.tasks", this, m -> m.count(m.tasks, s)).tag("status", s.name())
                    .description("node tasks by status, over every deployment").register(registry);
        }
        Gauge.builder("deploykit.agents.connected", gateway, g -> g.connectedAgents().size()).description("agents connected here")
                .register(registry);
        FunctionCounter.builder("deploykit.artifact.bytes.served", gateway, AgentGateway::artifactBytesServed)
                .description("artifact bytes sent to agents").baseUnit("bytes").register(registry);
    }

    private synchronized double count(Map<? extends Enum<?>, Long> counts, Enum<?> status) {
        Instant now = clock.instant();
        if (Duration.between(countedAt, now).compareTo(REFRESH) >= 0) {
            countedAt = now;
            List<Deployment> all = storeReads.record(kit::deployments);
            deployments.clear();
            tasks.clear();
            for (Deployment d : all) {
                deployments.merge(d.status(), 1L, Long::sum);
                for (NodeTask t : d.tasks()) {
                    tasks.merge(t.status(), 1L, Long::sum);
                }
            }
        }
        return counts.getOrDefault(status, 0L);
    }

    /** The step each running node task is in, and since when (task id to step and start). */
    private final Map<String, Map.Entry<String, Instant>> steps = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Feeds step durations from {@link DeploymentFeed}: a node task's step lasts from its status
     * change into that step to its next status change ({@code deploykit.step.duration}, by step).
     */
    void event(dev.deploykit.DeployEvent e) {
        if (!(e instanceof dev.deploykit.DeployEvent.NodeStatusChanged n)) {
            return;
        }
        Map.Entry<String, Instant> previous = n.status().isTerminal() ? steps.remove(n.taskId())
                : steps.put(n.taskId(), Map.entry(n.step(), n.time()));
        if (previous != null && !previous.getKey().isEmpty()) {
            Timer.builder("deploykit.step.duration").description("how long node steps took, by step").tag("step", previous.getKey())
                    .register(registry).record(Duration.between(previous.getValue(), n.time()));
        }
    }

    /** Times an API request by its route (the {@code route} attribute the API sets), method and status; call after it was handled. */
    void request(Context ctx, long startNanos) {
        String route = ctx.attribute("route") == null ? "other" : ctx.attribute("route");
        Timer.builder("deploykit.http.requests").tag("method", ctx.method().name()).tag("route", route)
                .tag("status", Integer.toString(ctx.statusCode())).register(registry).record(Duration.ofNanos(System.nanoTime() - startNanos));
    }

    String scrape() {
        // a relay agent gets its counter once it has served something (registering again returns the one there)
        for (String relay : gateway.relayBytesServed().keySet()) {
            FunctionCounter.builder("deploykit.relay.bytes.served", gateway, g -> g.relayBytesServed().getOrDefault(relay, 0L))
                    .tag("relay", relay).description("artifact bytes a relay agent sent to its peers, as they reported")
                    .baseUnit("bytes").register(registry);
        }
        return registry.scrape();
    }
}
