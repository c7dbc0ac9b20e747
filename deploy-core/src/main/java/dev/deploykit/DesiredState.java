package dev.deploykit;

import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Desired state: pinned package versions per group, kept converged by the reconciler. Obtained from
 * {@link DeployKit#desired()}. Thread-safe.
 *
 * <p>A pin says "every server of group G runs version V of package P". The reconciler compares each
 * pin with each server's inventory ({@link Server#inventory()}) every
 * {@link DeployKit.Builder#reconcileInterval reconcile interval} and on {@link #reconcileNow()}, and
 * for the servers that differ starts an ordinary deployment (same engine, events and rules as
 * {@link DeployKit#start}) with the pin's strategy. A server added to the group later converges the
 * same way, without a plan. Rules, backoff and several controllers: {@code docs/desired-state.md}.
 *
 * <pre>{@code
 * kit.desired().as("alice").pin("web", "web-app", "2.3.1",
 *         DeployPlan.strategy().canary(BatchSize.count(1)).batch(BatchSize.percent(25)).build());
 * kit.desired().hold("web-7");             // leave web-7 alone while someone debugs it
 * kit.desired().reconcileNow().forEach(d -> System.out.println(d.message()));
 * }</pre>
 *
 * <p>Errors: an unknown group or server is a {@link NotFoundException}, an unpublished version a
 * {@link NotFoundException} naming the package and version, a pin that would want two versions of
 * one package on one server a {@link ConflictException} naming both pins.
 */
public interface DesiredState {

    /** This desired state with changes recorded in the history as made by {@code actor}. */
    DesiredState as(String actor);

    /**
     * Pins {@code packageName} at {@code version} on group {@code group}, replacing the group's
     * earlier pin of that package. {@code strategy} is a template (see {@link DeployPlan#strategy()}):
     * its action and target are replaced by the reconciler's. The version must be published; a server
     * of the group that is also in another group pinned to another version of the package is a
     * {@link ConflictException} naming both pins.
     */
    Pin pin(String group, String packageName, String version, DeployPlan strategy);

    /** {@link #pin(String, String, String, DeployPlan)} with the default strategy (batches of 25%, no canary). */
    default Pin pin(String group, String packageName, String version) {
        return pin(group, packageName, version, DeployPlan.strategy().build());
    }

    /** Removes the pin of {@code packageName} on {@code group}; installed versions stay. False when there was none. */
    boolean unpin(String group, String packageName);

    /** Keeps {@code serverId} out of convergence until {@link #release}: the reconciler leaves it as it is. */
    void hold(String serverId);

    /** Includes a held server in convergence again. */
    void release(String serverId);

    /** Held servers, sorted. */
    Set<String> held();

    /** Current pins, by group then package. */
    List<Pin> pins();

    /** Every pin, unpin, hold and release, oldest first. */
    List<PinChange> history();

    /**
     * Runs one reconcile pass now, on the calling thread, and returns its decisions. Passes never
     * overlap: one already running finishes first. On a store several controllers share, only the
     * pins whose lease this controller holds (or can take) are reconciled here.
     */
    List<ReconcileDecision> reconcileNow();

    /** The most recent reconciler decisions (at most 1000), oldest first. */
    List<ReconcileDecision> decisions();

    /**
     * Calls {@code listener} with each decision this controller's reconciler records, on the
     * reconciling thread, as it is recorded (so keep it quick). Closing the returned handle stops it.
     */
    AutoCloseable onDecision(Consumer<ReconcileDecision> listener);

    /** Servers whose convergence failed and that are backing off, by pin then server. */
    List<ConvergenceFailure> failing();
}
