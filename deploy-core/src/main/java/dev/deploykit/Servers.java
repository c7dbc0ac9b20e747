package dev.deploykit;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Server management. Obtained from {@link DeployKit#servers()}. Thread-safe.
 *
 * <p>Errors: an id that is not registered is a {@link NotFoundException}; registering an id twice is
 * a {@link ConflictException}; a malformed id, label key or value is an {@link IllegalArgumentException}.
 */
public interface Servers {
    /** Adds a new server; an id already registered is a {@link ConflictException}. */
    Server register(Server server);

    /**
     * Replaces a registered server (labels, binding...); an unknown id is a {@link NotFoundException}.
     * Its {@link Server#cordoned()} flag is kept as stored: only {@link #cordon} and {@link #uncordon}
     * change it, so a transport re-registering what it learnt cannot lift a cordon.
     */
    Server update(Server server);

    /**
     * Keeps new work off a server: deployments started from now on leave it out of their target (a
     * plan naming it in {@code targetServers} is refused with a {@link PlanValidationException}), a
     * {@link DeployKit#preview preview} lists it as left out, and the reconciler skips it with a
     * {@code CORDONED} decision. Deployments already running keep their task on it. Cordoning twice
     * is harmless; an unknown id is a {@link NotFoundException}.
     *
     * <pre>{@code
     * kit.servers().cordon("web-3");      // maintenance: nothing new lands on web-3
     * ...
     * kit.servers().uncordon("web-3");
     * }</pre>
     */
    Server cordon(String serverId);

    /** Lets new deployments and convergence reach the server again; harmless when it was not cordoned. */
    Server uncordon(String serverId);

    /**
     * Cordons the server, then waits until none of its node tasks is running (DISPATCHED or RUNNING
     * in an unfinished deployment, on any controller of the store), for at most {@code timeout}.
     * True when the server is drained; false when running tasks remained at the timeout (it stays
     * cordoned, so calling again waits again). Tasks still PENDING in a deployment that started
     * before the cordon are not waited for: {@code cancel()} or {@code remove(id, true)} that
     * deployment if they must not run. Interrupting the caller ends the wait with an
     * {@link InterruptedException}.
     *
     * <pre>{@code
     * if (!kit.servers().drain("web-3", Duration.ofMinutes(5))) {
     *     throw new IllegalStateException("web-3 still busy");
     * }
     * }</pre>
     */
    boolean drain(String serverId, java.time.Duration timeout) throws InterruptedException;

    /** Sets one label; an unknown id is a {@link NotFoundException}. */
    Server label(String serverId, String key, String value);

    /** Removes one label; an unknown id is a {@link NotFoundException}. */
    Server unlabel(String serverId, String key);

    /**
     * Removes a server and its explicit group memberships; false when it was not registered. A server
     * that an unfinished deployment targets is refused with a {@link ConflictException} naming the
     * deployment; see {@link #remove(String, boolean)}.
     */
    default boolean remove(String serverId) {
        return remove(serverId, false);
    }

    /**
     * Removes a server; with {@code force}, even while an unfinished deployment targets it: that
     * deployment's task for it then fails ("server ... was removed") when its turn comes, and the
     * rest of the deployment goes on within its failure budget.
     */
    boolean remove(String serverId, boolean force);

    Optional<Server> get(String serverId);

    /** All servers, by id. */
    List<Server> list();

    /**
     * Contacts the node, records its OS facts and the installed version of every package name
     * DeployKit knows, and returns the updated server.
     */
    Server refresh(String serverId);

    /**
     * Whether {@code serverId} answers now, by the {@link Liveness} rule on its stored
     * {@link Server#lastSeen()} and this kit's {@link LivenessOptions}; an unknown id is a
     * {@link NotFoundException}. Every controller on the store gives the same answer.
     */
    Liveness liveness(String serverId);

    /**
     * Calls {@code listener} with each change of a server's {@link Liveness} (ONLINE to STALE to
     * OFFLINE, and back to ONLINE) that this controller sees, from a checker that reads every
     * server every {@link LivenessOptions#checkEvery()} while at least one listener is registered.
     * The first check after the first listener registers takes note of every status silently; a
     * server registered later is reported with {@code from} null. Each controller on a shared store
     * runs its own checker and tells its own listeners, so two controllers both report a change
     * (each within one check interval of the other). Listeners run on the checker's thread, one at a
     * time, and must not block; one that throws is logged and kept. Close the returned handle to stop
     * listening.
     *
     * <pre>{@code
     * try (AutoCloseable watching = kit.servers().onStatus(c -> log.info("{}: {} -> {}", c.serverId(), c.from(), c.to()))) {
     *     ...
     * }
     * }</pre>
     */
    AutoCloseable onStatus(Consumer<ServerStatusChange> listener);

    /**
     * Records contact with servers (id to when they were heard from), for transports that hear from
     * their nodes without DeployKit asking, like the agent gateway's heartbeats: call it once per
     * batch, not per heartbeat. Only {@link Server#lastSeen()} changes, never backwards; unknown ids
     * are skipped.
     */
    void recordSeen(Map<String, Instant> seen);

    /**
     * Applies what a node reported to the stored inventory of {@code serverId} and appends each
     * change to its history, in one store call: for transports whose nodes report on their own (the
     * agent gateway) or that poll them. See {@link InventoryReport} for how a full report relates to
     * the inventory. Returns the changes applied, empty when nothing changed or the server is unknown.
     */
    List<InventoryChange> recordInventory(String serverId, InventoryReport report);

    /** Every recorded change of {@code serverId}'s inventory, oldest first. */
    List<InventoryChange> inventoryHistory(String serverId);

    /**
     * The long-running services on {@code serverId} (script bundles with {@code scripts/service},
     * docs/services.md) as its last report to this controller said, with their state and resource
     * use; empty before the first report. Kept in memory: each controller knows what its nodes told it.
     */
    List<ServiceStatus> services(String serverId);

    /**
     * Calls {@code listener} on this controller's thread that records node reports whenever a service
     * starts, is restarted, exits, is OOM-killed or goes away ({@link ServiceChange}); resource use
     * alone changing is not an event. Close the returned handle to stop listening.
     */
    AutoCloseable onService(Consumer<ServiceChange> listener);
}
