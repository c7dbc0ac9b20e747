package dev.deploykit.spi;

import dev.deploykit.DeployEvent;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.InventoryChange;
import dev.deploykit.NodeTask;
import dev.deploykit.Package;
import dev.deploykit.Pin;
import dev.deploykit.PinChange;
import dev.deploykit.ScriptSet;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where DeployKit keeps servers, groups, packages, deployments, node tasks and the event log.
 * Thread-safe. Every write is atomic: a failed call leaves nothing half-written.
 *
 * <p>The event log is append-only. {@link #append} accepts an event only with the next sequence
 * number of its deployment, which keeps the log gap-free and refuses a stale writer.
 */
public interface Store extends AutoCloseable {

    void putServer(Server server);

    Optional<Server> server(String id);

    /** All servers, by id. */
    List<Server> servers();

    boolean removeServer(String id);

    /**
     * Records when each server in {@code seen} (id to time) was last heard from, in one call: what
     * a transport's batch of heartbeats or contacts comes to. Only {@link Server#lastSeen()} changes;
     * a time older than the stored one is ignored (lastSeen never moves back), and an id that is not
     * stored is skipped (it was removed). The default reads and puts each server; a store that
     * several controllers share should do it in one statement, since every controller calls it once
     * per flush interval.
     */
    default void updateLastSeen(Map<String, Instant> seen) {
        seen.forEach((id, at) -> server(id).filter(s -> s.lastSeen() == null || s.lastSeen().isBefore(at))
                .ifPresent(s -> putServer(s.withLastSeen(at))));
    }

    /**
     * Stores {@code server} (whose inventory already has {@code changes} applied) and appends
     * {@code changes} to its inventory history, atomically: one call per inventory report, however
     * many packages it changed.
     */
    void recordInventory(Server server, List<InventoryChange> changes);

    /** The inventory history of {@code serverId}, oldest first; empty for an unknown server. */
    List<InventoryChange> inventoryHistory(String serverId);

    void putGroup(ServerGroup group);

    Optional<ServerGroup> group(String name);

    /** All groups, by name. */
    List<ServerGroup> groups();

    boolean removeGroup(String name);

    /**
     * Stores a package version. Storing the same name, version and digest again is a no-op; the
     * same name and version with another digest is a {@link dev.deploykit.StoreException}.
     */
    void putPackage(Package pkg);

    Optional<Package> findPackage(String name, String version);

    /** Every version of {@code name}, oldest publication first. */
    List<Package> packageVersions(String name);

    /** Names of all packages, sorted. */
    List<String> packageNames();

    boolean removePackage(String name, String version);

    /**
     * Stores a new deployment with all its node tasks and its first event, atomically. A deployment
     * id already taken is a {@link dev.deploykit.StoreException}.
     */
    void createDeployment(DeploymentRecord deployment, List<NodeTask> tasks, DeployEvent first);

    Optional<DeploymentRecord> deployment(String id);

    /** All deployments, newest first. */
    List<DeploymentRecord> deployments();

    /** Node tasks of a deployment, by batch then server id. */
    List<NodeTask> tasks(String deploymentId);

    /**
     * Appends {@code event} and, in the same transaction, stores {@code task} (may be null) and sets
     * the deployment's status (may be null). The event's sequence number must be the deployment's
     * last plus one, otherwise nothing is written and a {@link dev.deploykit.StoreException} is thrown.
     */
    void append(DeployEvent event, NodeTask task, DeploymentStatus status);

    /** Events of a deployment with sequence number greater than {@code afterSeq}, in order. */
    List<DeployEvent> events(String deploymentId, long afterSeq);

    // ---- saved script sets ----

    /**
     * Saves version {@code version} of the script set {@code set.name()}, unless that name and version
     * is stored already: true when saved, false when it existed (the stored one is left unchanged,
     * whatever its scripts; the caller compares).
     */
    boolean putScriptSet(ScriptSet set, String version);

    Optional<ScriptSet> scriptSet(String name, String version);

    /** Versions of the script set {@code name}, in the order they were saved; empty when none. */
    List<String> scriptSetVersions(String name);

    // ---- desired state: pins, held servers and their history ----

    /**
     * Stores {@code pin}, replacing the pin of the same group and package, and appends {@code change}
     * to the pin history, atomically.
     */
    void putPin(Pin pin, PinChange change);

    /**
     * Removes the pin of {@code packageName} on {@code group} and appends {@code change} to the pin
     * history, atomically; false (and nothing appended) when there was no such pin.
     */
    boolean removePin(String group, String packageName, PinChange change);

    /** All pins, by group then package name. */
    List<Pin> pins();

    /**
     * Holds ({@code held} true) or releases a server and appends {@code change} to the pin history,
     * atomically; false (and nothing appended) when the server already was in that state.
     */
    boolean holdServer(String serverId, boolean held, PinChange change);

    /** Held servers, sorted. */
    Set<String> heldServers();

    /** The pin history, oldest first. */
    List<PinChange> pinHistory();

    /**
     * Takes (or renews) the named lease for this store's controller, unless another controller holds it
     * unexpired: a lease names work exactly one controller should do at a time, such as reconciling one
     * pin ({@code pin:web/app}). The store keeps renewing a held lease until {@link #releaseLease} or
     * close; a controller that dies loses it when it runs out. True when this controller holds it. A
     * store used by one controller at a time keeps this default.
     */
    default boolean acquireLease(String name) {
        return true;
    }

    /** Gives up the named lease, so another controller may take it at once. */
    default void releaseLease(String name) {}

    // ---- several controllers on one store ----
    //
    // A store that several controllers share gives each deployment one owner at a time: the
    // controller that created it, or that took it over after its owner's lease ran out. Only the
    // owner's appends are accepted; a controller that lost a deployment gets a LeaseLostException
    // from append and must stop. A store used by one controller at a time keeps these defaults.

    /**
     * Makes this store's controller the owner of {@code deploymentId} (or renews its ownership),
     * unless another controller holds an unexpired lease on it. True when this controller owns it.
     */
    default boolean acquire(String deploymentId) {
        return true;
    }

    /** The fencing epoch under which this controller owns {@code deploymentId}; 0 when there is no fencing. */
    default long epoch(String deploymentId) {
        return 0;
    }

    /** Gives up ownership of {@code deploymentId}, so another controller may take it over at once. */
    default void release(String deploymentId) {}

    /**
     * How often a controller should look for unfinished deployments whose owner has gone; empty
     * when no other controller can own this store's deployments.
     */
    default Optional<java.time.Duration> takeoverCheckInterval() {
        return Optional.empty();
    }

    /** Hands node steps to the controller that can reach the node; empty for a single-controller store. */
    default Optional<Relay> relay() {
        return Optional.empty();
    }

    /** Carries control actions to a deployment's owner on another controller; empty for a single-controller store. */
    default Optional<Controls> controls() {
        return Optional.empty();
    }

    @Override
    default void close() {}
}
