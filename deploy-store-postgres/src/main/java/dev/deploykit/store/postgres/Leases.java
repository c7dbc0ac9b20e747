package dev.deploykit.store.postgres;

import dev.deploykit.spi.support.DaemonThreads;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This controller's ownership of deployments, in the {@code owner}, {@code lease_until} and
 * {@code epoch} columns of {@code deployments}: acquiring (and taking over expired leases, which
 * raises the fencing epoch), releasing, and a background thread that renews the leases of the
 * deployments it holds every third of the lease. It remembers the epoch it holds each deployment
 * under, which the event log checks every append against. Named leases ({@code leases} table, for
 * work such as reconciling one pin) follow the same rules and are renewed by the same thread.
 *
 * <p>It starts renewing when made; {@link PostgresStore#close} closes it, which stops the renewer
 * thread (the {@link Database} it uses is closed separately). Thread-safe: the held epochs are in a
 * concurrent map, and each database call is one statement.
 */
final class Leases implements AutoCloseable {
    // Under the store's name, so that logging configured for PostgresStore keeps covering lost leases.
    private static final Logger log = LoggerFactory.getLogger(PostgresStore.class);

    /** Deployments in these states hold no lease: any controller may take them to retry failed nodes. */
    static final String TERMINAL = "('SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK')";

    /** The epoch of a deployment's first owner, its creator. */
    static final long FIRST_EPOCH = 1;

    private final Database db;
    private final String controllerId;
    private final Duration lease;
    /** Deployments this controller owns, with the fencing epoch it owns each under. */
    private final Map<String, Long> held = new ConcurrentHashMap<>();
    /** Named leases this controller holds, with the epoch it holds each under. */
    private final Map<String, Long> named = new ConcurrentHashMap<>();
    private final ScheduledExecutorService renewer;

    Leases(Database db, String controllerId, Duration lease) {
        this.db = db;
        this.controllerId = controllerId;
        this.lease = lease;
        this.renewer = Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("deploykit-lease-renewer-"));
        long every = Math.max(1, lease.toMillis() / 3);
        renewer.scheduleWithFixedDelay(this::renewLeases, every, every, TimeUnit.MILLISECONDS);
    }

    /** Host name, process id and a random suffix: unique among controllers without configuration. */
    static String defaultControllerId() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "controller";
        }
        return host + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    String controllerId() {
        return controllerId;
    }

    /** The lease length in seconds, as {@code make_interval(secs => ...)} takes it. */
    double seconds() {
        return lease.toMillis() / 1000.0;
    }

    /** @see PostgresStore#acquire */
    boolean acquire(String deploymentId) {
        Optional<Long> epoch = db.query("acquire deployment " + deploymentId, h -> h.createQuery("""
                update deployments set owner = :me, lease_until = now() + make_interval(secs => :secs),
                       epoch = case when owner = :me and epoch = :held then epoch else epoch + 1 end
                 where id = :d and (owner is null or lease_until is null or lease_until < now() or (owner = :me and epoch = :held))
                returning epoch""").bind("me", controllerId).bind("secs", seconds()).bind("d", deploymentId)
                .bind("held", heldEpoch(deploymentId)).mapTo(Long.class).findOne());
        epoch.ifPresentOrElse(e -> held.put(deploymentId, e), () -> held.remove(deploymentId));
        return epoch.isPresent();
    }

    /** The epoch this controller holds {@code deploymentId} under; 0 when it does not hold it. */
    long epoch(String deploymentId) {
        return held.getOrDefault(deploymentId, 0L);
    }

    /** Like {@link #epoch}, but -1 when not held, which matches no row's epoch in an owner check. */
    long heldEpoch(String deploymentId) {
        return held.getOrDefault(deploymentId, -1L);
    }

    /** Records that this controller created {@code deploymentId}, and so owns it under {@link #FIRST_EPOCH}. */
    void created(String deploymentId) {
        held.put(deploymentId, FIRST_EPOCH);
    }

    /** Forgets {@code deploymentId}, whose append found another owner or a newer epoch. */
    void lost(String deploymentId) {
        held.remove(deploymentId);
    }

    void release(String deploymentId) {
        release(held, "deployment " + deploymentId, "deployments", "id", deploymentId);
    }

    /**
     * Forgets {@code key} in {@code holdings} and clears its owner in {@code table} when this
     * controller still holds it under the same epoch. {@code table} and {@code keyColumn} are
     * constants of this class, never input.
     */
    private void release(Map<String, Long> holdings, String what, String table, String keyColumn, String key) {
        Long epoch = holdings.remove(key);
        if (epoch != null) {
            db.run("release " + what, h -> h.createUpdate(("update %s set owner = null, lease_until = null "
                    + "where %s = :k and owner = :me and epoch = :epoch").formatted(table, keyColumn))
                    .bind("k", key).bind("me", controllerId).bind("epoch", epoch).execute());
        }
    }

    /** @see PostgresStore#acquireLease */
    boolean acquireNamed(String name) {
        Optional<Long> epoch = db.query("acquire lease " + name, h -> h.createQuery("""
                insert into leases as l (name, owner, lease_until, epoch) values (:n, :me, now() + make_interval(secs => :secs), 1)
                on conflict (name) do update set owner = :me, lease_until = excluded.lease_until,
                       epoch = case when l.owner = :me and l.epoch = :held then l.epoch else l.epoch + 1 end
                 where l.owner is null or l.lease_until is null or l.lease_until < now() or (l.owner = :me and l.epoch = :held)
                returning epoch""").bind("n", name).bind("me", controllerId).bind("secs", seconds())
                .bind("held", named.getOrDefault(name, -1L)).mapTo(Long.class).findOne());
        epoch.ifPresentOrElse(e -> named.put(name, e), () -> named.remove(name));
        return epoch.isPresent();
    }

    /** @see PostgresStore#releaseLease */
    void releaseNamed(String name) {
        release(named, "lease " + name, "leases", "name", name);
    }

    /** A third of the lease: a controller whose leases ran out for as long is gone or cut off. */
    Duration takeoverCheckInterval() {
        return lease.dividedBy(3);
    }

    /** Extends the leases of the unfinished deployments this controller owns; forgets those it lost. */
    private void renewLeases() {
        for (Map.Entry<String, Long> e : held.entrySet()) {
            try {
                Optional<String> status = db.query("renew lease on " + e.getKey(), h -> h.createQuery("""
                        update deployments set lease_until = case when status in %s then null
                                                                  else now() + make_interval(secs => :secs) end
                         where id = :d and owner = :me and epoch = :epoch
                        returning status""".formatted(TERMINAL)).bind("secs", seconds())
                        .bind("d", e.getKey()).bind("me", controllerId).bind("epoch", e.getValue()).mapTo(String.class).findOne());
                if (status.isEmpty()) {
                    held.remove(e.getKey(), e.getValue());
                    log.warn("deployment {}: another controller has taken it over", e.getKey());
                }
            } catch (RuntimeException ex) {
                log.warn("cannot renew the lease on deployment {}: {}", e.getKey(), ex.getMessage());
            }
        }
        for (Map.Entry<String, Long> e : named.entrySet()) {
            try {
                int renewed = db.query("renew lease " + e.getKey(), h -> h.createUpdate(
                        "update leases set lease_until = now() + make_interval(secs => :secs) where name = :n and owner = :me and epoch = :epoch")
                        .bind("secs", seconds()).bind("n", e.getKey()).bind("me", controllerId).bind("epoch", e.getValue()).execute());
                if (renewed == 0) {
                    named.remove(e.getKey(), e.getValue());
                    log.warn("lease {}: another controller has taken it over", e.getKey());
                }
            } catch (RuntimeException ex) {
                log.warn("cannot renew lease {}: {}", e.getKey(), ex.getMessage());
            }
        }
    }

    /** Stops renewing; the leases run out unless released. */
    @Override
    public void close() {
        renewer.shutdownNow();
    }
}
