package dev.deploykit;

import dev.deploykit.format.deb.DebFormat;
import dev.deploykit.format.rpm.RpmFormat;
import dev.deploykit.format.script.ScriptBundleFormat;
import dev.deploykit.internal.Engine;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.PackageFormat;
import dev.deploykit.spi.SecretSource;
import dev.deploykit.spi.Store;
import dev.deploykit.spi.Transport;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The entry point: an embedded deployment controller. Build one per application, register plugins
 * on its builder, and close it when done (it closes its transports and store). Thread-safe.
 *
 * <pre>{@code
 * try (DeployKit kit = DeployKit.builder()
 *         .transport(LocalTransport.create())
 *         .artifactDir(Path.of("/var/lib/myapp/artifacts"))
 *         .build()) {
 *     kit.servers().register(Server.of("web-1", Binding.local(Path.of("/tmp/web-1")), Map.of("role", "web")));
 *     Package app = kit.packages().publish(Path.of("app-1.0.tar.gz"));
 *     Deployment d = kit.start(DeployPlan.builder()
 *             .action(Action.install(app.name(), app.version()))
 *             .targetSelector("role=web")
 *             .build());
 *     d.await(Duration.ofMinutes(5));
 * }
 * }</pre>
 */
public interface DeployKit extends AutoCloseable {

    static Builder builder() {
        return new Builder();
    }

    Servers servers();

    Groups groups();

    Packages packages();

    /** Repositories to publish revisions from ({@link Packages#publishFrom}), in this kit's memory: {@code docs/sources.md}. */
    Sources sources();

    /** Script sets saved by name and version, for {@link Action#runScripts(String, String)}. */
    ScriptSets scriptSets();

    /** Pinned versions per group, kept converged by the reconciler: {@code docs/desired-state.md}. */
    DesiredState desired();

    /**
     * What {@code plan} would do on each targeted node, by batch, from the store alone: no node is
     * contacted. Unknown groups, servers or packages are a {@link PlanValidationException}. Servers
     * the target matched but that the deployment would leave out (cordoned ones) follow, with batch
     * -1 and {@link NodePreview#leftOut()} saying why.
     */
    default List<NodePreview> preview(DeployPlan plan) {
        return preview(plan, PreviewOptions.stored());
    }

    /**
     * As {@link #preview(DeployPlan)}; with {@link PreviewOptions#live()} the current version of each
     * ONLINE node in the deployment is read from the node itself (nothing is changed on it or stored).
     */
    List<NodePreview> preview(DeployPlan plan, PreviewOptions options);

    /**
     * Stores a new deployment of {@code plan} with every node task, then runs it in the background.
     * The target is resolved now; an unknown group, server, package or transport fails here with a
     * {@link PlanValidationException} and nothing is stored or touched.
     */
    Deployment start(DeployPlan plan);

    /** A handle on a stored deployment, live or finished. */
    Optional<Deployment> deployment(String id);

    /** All stored deployments, newest first. */
    List<Deployment> deployments();

    /**
     * Closes this kit when the JVM shuts down (SIGTERM, {@code System.exit}), so that its running
     * deployments are released at once and another controller on the same store takes them over
     * without waiting for their leases to run out. A controller process should call it right after
     * {@code build()}:
     *
     * <pre>{@code
     * DeployKit kit = DeployKit.builder().store(store).transport(gateway.transport()).build().closeOnShutdown();
     * }</pre>
     *
     * @return this kit
     */
    DeployKit closeOnShutdown();

    /**
     * Stops the engine and closes its transports and store. Running deployments are not cancelled:
     * they stay unfinished in the store, and a DeployKit built later on the same store resumes them.
     * Call {@link Deployment#cancel()} first to cancel one.
     */
    @Override
    void close();

    /**
     * Configures a {@link DeployKit}. Registering the same plugin instance twice is harmless; two
     * different transports for one scheme, or formats with one name, are an error.
     */
    final class Builder {
        private Store store;
        private ArtifactStore artifactStore;
        private Path artifactDir;
        private final Map<String, Transport> transports = new LinkedHashMap<>();
        private final Map<String, PackageFormat> formats = new LinkedHashMap<>();
        private Clock clock = Clock.systemUTC();
        private SecretSource secrets = SecretSource.none();
        private LivenessOptions liveness = LivenessOptions.defaults();
        private Duration reconcileInterval = Duration.ofSeconds(30);
        private Duration inventoryPollInterval = Duration.ofMinutes(5);

        /** The formats that ship in core (script, deb, rpm) are registered from the start. */
        private Builder() {
            format(ScriptBundleFormat.create());
            format(DebFormat.create());
            format(RpmFormat.create());
        }

        /** Where state lives. Default: a new in-memory store. */
        public Builder store(Store store) {
            this.store = store;
            return this;
        }

        /** Where package files are kept. Default: a {@code FileArtifactStore} in {@link #artifactDir}. */
        public Builder artifactStore(ArtifactStore artifactStore) {
            this.artifactStore = artifactStore;
            return this;
        }

        /** Directory for the default artifact store. Default: a new temporary directory. */
        public Builder artifactDir(Path dir) {
            this.artifactDir = dir;
            return this;
        }

        public Builder transport(Transport transport) {
            Transport existing = transports.putIfAbsent(transport.scheme(), transport);
            if (existing != null && existing != transport) {
                throw new IllegalArgumentException("a transport for scheme '" + transport.scheme()
                        + "' is already registered: " + existing.getClass().getName());
            }
            return this;
        }

        public Builder format(PackageFormat format) {
            PackageFormat existing = formats.get(format.name());
            if (existing != null && existing != format && existing.getClass() != format.getClass()) {
                throw new IllegalArgumentException("a package format named '" + format.name()
                        + "' is already registered: " + existing.getClass().getName());
            }
            formats.put(format.name(), format);
            return this;
        }

        /**
         * Where {@link Secret} references in commands are resolved, at dispatch, on the controller
         * that runs the step. Default: {@link SecretSource#none()} (a step that references a secret
         * fails). Controllers that share a store need the same source.
         */
        public Builder secrets(SecretSource source) {
            this.secrets = java.util.Objects.requireNonNull(source, "source");
            return this;
        }

        /**
         * Thresholds of the {@link Liveness} rule and how often status listeners are told of changes.
         * Default: {@link LivenessOptions#defaults()}.
         */
        public Builder liveness(LivenessOptions options) {
            this.liveness = java.util.Objects.requireNonNull(options, "options");
            return this;
        }

        /** Clock for event and record timestamps, and for {@link Liveness}. Default: system UTC. */
        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /**
         * How often the reconciler compares pins with the servers ({@link DesiredState}); it also runs
         * on {@link DesiredState#reconcileNow()}. Default 30 s.
         */
        public Builder reconcileInterval(Duration interval) {
            if (interval == null || interval.toMillis() < 1) {
                throw new IllegalArgumentException("reconcileInterval must be at least 1 ms, but was " + interval);
            }
            this.reconcileInterval = interval;
            return this;
        }

        /**
         * How often the packages of nodes that do not report their own inventory (SSH: see
         * {@link dev.deploykit.spi.Transport#polledForInventory()}) are listed, one command per node, and
         * applied to {@link Server#inventory()} with their history. Agents report changes as they
         * happen and are not polled. Default 5 minutes.
         */
        public Builder inventoryPollInterval(Duration interval) {
            if (interval == null || interval.toMillis() < 1) {
                throw new IllegalArgumentException("inventoryPollInterval must be at least 1 ms, but was " + interval);
            }
            this.inventoryPollInterval = interval;
            return this;
        }

        public DeployKit build() {
            return new Engine(store, artifactStore, artifactDir, transports, formats, secrets, clock, liveness, reconcileInterval,
                    inventoryPollInterval);
        }
    }
}
