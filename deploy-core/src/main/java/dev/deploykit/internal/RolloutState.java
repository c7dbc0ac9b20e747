package dev.deploykit.internal;

import dev.deploykit.DeployPlan;
import dev.deploykit.DeployPlan.BatchFailureMode;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.DispatchWindow;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The rollout rules of one deployment, and every reason text its status events and never-dispatched
 * nodes carry: the failure budget, the canary halt, the dispatch gate of
 * {@link BatchFailureMode}, what a restart restores, what {@code retryFailed()} resets, the rollback
 * set and how the run ends. {@link DeploymentRun} feeds it what happened and does what it answers;
 * the rules themselves are in {@code docs/plan-semantics.md} and unit-tested in
 * {@code RolloutStateTest}.
 *
 * <p>Pure: no threads, no store, no clock, no logging, so each rule can be tested by calling it.
 * Not thread-safe: {@link DeploymentRun} calls it only under its lock.
 */
final class RolloutState {

    /** A deployment status to move to and the reason its event gives ("" for none). */
    record StatusChange(DeploymentStatus to, String reason) {}

    /**
     * The plan's knobs the rules need, fixed for the whole deployment.
     *
     * @param canary            batch 0 is a canary batch
     * @param budget            failed nodes tolerated; one more halts the rollout
     * @param failureMode       what happens to the rest of the batch once the rollout halts
     * @param rollbackOnFailure changed nodes are rolled back after a halt
     * @param manualPromote     a successful canary batch waits for {@code resume()}
     */
    record Rules(boolean canary, int budget, BatchFailureMode failureMode, boolean rollbackOnFailure, boolean manualPromote) {

        /** The rules of {@code plan} over {@code nodes} target nodes. */
        static Rules of(DeployPlan plan, boolean canary, int nodes) {
            // a budget rounds down, so it never tolerates more failures than the plan asked for
            return new Rules(canary, plan.maxFailed().roundDown(nodes), plan.batchFailureMode(), plan.rollbackOnFailure(),
                    plan.manualPromote());
        }
    }

    /**
     * How the run ends once no further node will be dispatched: first the nodes never dispatched
     * end CANCELLED with {@link #notDispatched()} (when present), then either {@link Finish} or
     * {@link RollBack}.
     */
    sealed interface Ending permits Finish, RollBack {
        /** The message for the nodes never dispatched; empty when they are left as they are. */
        Optional<String> notDispatched();
    }

    /** The run ends with {@code status}. */
    record Finish(Optional<String> notDispatched, StatusChange status) implements Ending {}

    /**
     * The run moves to {@code start}, rolls {@code nodes} back, and ends with
     * {@link #afterRollback}.
     */
    record RollBack(Optional<String> notDispatched, StatusChange start, List<NodeTask> nodes) implements Ending {
        RollBack {
            nodes = List.copyOf(nodes);
        }
    }

    /** The coordinator starts (or, after a restart or retry, continues) dispatching. */
    static final StatusChange STARTED = new StatusChange(DeploymentStatus.RUNNING, "");
    static final StatusChange PAUSED_BY_USER = new StatusChange(DeploymentStatus.PAUSED, "paused by user");
    static final StatusChange RESUMED = new StatusChange(DeploymentStatus.RUNNING, "resumed");
    static final StatusChange CANCELLED_BY_USER = new StatusChange(DeploymentStatus.CANCELLED, "cancelled by user");
    /** The message of a node a cancel kept from being dispatched. */
    static final String CANCELLED_BEFORE_DISPATCH = "deployment cancelled";
    /** The message of a node an internal error kept from being dispatched. */
    static final String STOPPED_BEFORE_DISPATCH = "deployment stopped by an internal error";
    /** The message of a task that was in flight when its controller stopped and goes back to PENDING. */
    static final String RESENT_AFTER_RESTART = "re-sent after a controller restart";

    /** A pending node's message while its batch waits for the plan's dispatch window. */
    static String waitingForWindow(DispatchWindow window, Instant opens) {
        return "waiting for the dispatch window (" + window.describe() + "): opens at " + opens;
    }

    private final Rules rules;
    private int failures;
    private boolean halted;
    private String haltReason = "";

    RolloutState(Rules rules) {
        this.rules = rules;
    }

    int budget() {
        return rules.budget();
    }

    /** Failed nodes of the current attempt. */
    int failures() {
        return failures;
    }

    /** True once the rollout must stop: the budget was exceeded or the canary failed. */
    boolean halted() {
        return halted;
    }

    /** Why the rollout halted; "" while it has not. */
    String haltReason() {
        return haltReason;
    }

    boolean isCanary(int batch) {
        return rules.canary() && batch == 0;
    }

    /**
     * A node ended. A failure counts against the budget, and the first failure beyond it halts the
     * rollout; a rollback that fails does not count, since there is nothing left to halt.
     */
    void nodeEnded(NodeTask end, boolean rollback) {
        if (rollback || end.status() != NodeStatus.FAILED) {
            return;
        }
        failures++;
        if (failures > rules.budget()) {
            halt(budgetExceeded(failures));
        }
    }

    /**
     * Every node of {@code batch} has ended ({@code batchTasks} are all its tasks). A failure in the
     * canary batch halts whatever the budget, which is what a canary is for. True when a later
     * batch may start.
     */
    boolean batchEnded(int batch, Collection<NodeTask> batchTasks) {
        int failed = count(batchTasks, NodeStatus.FAILED);
        if (isCanary(batch) && failed > 0) {
            halt("canary batch failed on " + failed + " node(s)");
        }
        return !halted;
    }

    /**
     * Whether the next node may be dispatched, as far as failures go (pause and cancel are the
     * run's own). After a halt FAIL_FAST dispatches nothing more, not even within the batch, while
     * FINISH_BATCH lets the current batch run out ({@link #batchEnded} then stops the rollout). A
     * rollback always dispatches: it is what follows the halt.
     */
    boolean mayDispatch(boolean rollback) {
        return rollback || !halted || rules.failureMode() != BatchFailureMode.FAIL_FAST;
    }

    /**
     * After {@code batch} of {@code batches} ended and the rollout goes on: with manual promotion a
     * successful canary batch pauses the deployment until {@code resume()}.
     */
    Optional<StatusChange> promotionPause(int batch, int batches) {
        if (isCanary(batch) && rules.manualPromote() && batch < batches - 1) {
            return Optional.of(new StatusChange(DeploymentStatus.PAUSED,
                    "canary batch succeeded; waiting for promotion (resume) before batch 1"));
        }
        return Optional.empty();
    }

    /**
     * A forward task in flight when its controller stopped; a restart sends it again with the same
     * keys. A task in flight in its rollback stays as it is: the restarted run rolls it back again
     * (same keys, so an agent answers the steps it already ran from its journal).
     */
    static boolean resentAfterRestart(NodeTask task) {
        return inFlight(task) && !inRollback(task);
    }

    private static boolean inFlight(NodeTask task) {
        return task.status() == NodeStatus.DISPATCHED || task.status() == NodeStatus.RUNNING;
    }

    /** The task was being rolled back (its step is {@code rollback} or {@code rollback:<step>}). */
    static boolean inRollback(NodeTask task) {
        return inFlight(task) && task.step().startsWith("rollback");
    }

    /** Some node was rolled back or is being rolled back: the deployment had halted and was in its rollback. */
    private static boolean rollingBack(Collection<NodeTask> tasks) {
        return tasks.stream().anyMatch(t -> t.status() == NodeStatus.ROLLED_BACK || inRollback(t));
    }

    /**
     * A restarted controller continues from the stored {@code tasks}: the failure count, and a halt
     * the previous controller had reached (a failed canary node, failures beyond the budget, or a
     * rollback under way, which only ever follows a halt).
     */
    void restoreFrom(Collection<NodeTask> tasks) {
        failures = count(tasks, NodeStatus.FAILED);
        boolean canaryFailed = rules.canary() && tasks.stream().anyMatch(t -> t.batch() == 0 && t.status() == NodeStatus.FAILED);
        halted = canaryFailed || failures > rules.budget() || rollingBack(tasks);
        if (canaryFailed) {
            haltReason = "canary batch failed";
        } else if (failures > rules.budget()) {
            haltReason = budgetExceeded(failures);
        } else if (halted) {
            haltReason = "halted before a controller restart";
        } else {
            haltReason = "";
        }
    }

    /** {@code retryFailed()} is allowed on a deployment that ended {@code status}. */
    static boolean retryable(DeploymentStatus status) {
        return status == DeploymentStatus.FAILED || status == DeploymentStatus.SUCCEEDED;
    }

    /** The tasks {@code retryFailed()} runs again: the failed ones. */
    static List<NodeTask> retrySet(Collection<NodeTask> tasks) {
        return tasks.stream().filter(t -> t.status() == NodeStatus.FAILED).toList();
    }

    /** {@code retryFailed()} starts a new attempt: the failed nodes run again with the whole budget. */
    void retried() {
        failures = 0;
        halted = false;
        haltReason = "";
    }

    /**
     * The nodes a rollback returns to their previous version: the changed ones (their action step
     * started) that SUCCEEDED or FAILED, and those whose rollback a controller restart interrupted.
     * Skipped, never dispatched, cancelled and already rolled-back nodes are left alone.
     */
    static List<NodeTask> rollbackSet(Collection<NodeTask> tasks) {
        return tasks.stream().filter(t -> t.changed() && (t.status() == NodeStatus.SUCCEEDED || t.status() == NodeStatus.FAILED
                || inRollback(t))).toList();
    }

    /**
     * How the run ends once dispatch stopped, given all its {@code tasks} now: a cancel ends it
     * CANCELLED with no rollback; a halt ends it FAILED, or rolls the changed nodes back first when
     * the plan asks for it; otherwise it SUCCEEDED, saying how many nodes failed within the budget.
     */
    Ending ending(boolean cancelled, Collection<NodeTask> tasks) {
        if (cancelled) {
            return new Finish(Optional.of(CANCELLED_BEFORE_DISPATCH), CANCELLED_BY_USER);
        }
        if (halted) {
            Optional<String> notDispatched = Optional.of("not dispatched: " + haltReason);
            if (!rules.rollbackOnFailure()) {
                return new Finish(notDispatched, new StatusChange(DeploymentStatus.FAILED, haltReason));
            }
            List<NodeTask> changed = rollbackSet(tasks);
            if (changed.isEmpty() && count(tasks, NodeStatus.ROLLED_BACK) == 0) {
                // nothing was changed, so there is nothing to roll back: the deployment simply failed
                return new Finish(notDispatched, new StatusChange(DeploymentStatus.FAILED, haltReason + "; no node was changed"));
            }
            return new RollBack(notDispatched, new StatusChange(DeploymentStatus.RUNNING,
                    haltReason + "; rolling back " + changed.size() + " changed node(s)"), changed);
        }
        int failed = count(tasks, NodeStatus.FAILED);
        return new Finish(Optional.empty(), new StatusChange(DeploymentStatus.SUCCEEDED,
                failed == 0 ? "" : failed + " node(s) failed within the failure budget of " + rules.budget()));
    }

    /**
     * How the run ends after rolling {@code rolledBack} back, given all its {@code tasks} now:
     * ROLLED_BACK when each of them is, FAILED naming the nodes that are not.
     */
    StatusChange afterRollback(Collection<NodeTask> rolledBack, Collection<NodeTask> tasks) {
        Set<String> ids = rolledBack.stream().map(NodeTask::taskId).collect(Collectors.toSet());
        List<String> stuck = tasks.stream().filter(t -> ids.contains(t.taskId()) && t.status() != NodeStatus.ROLLED_BACK)
                .map(NodeTask::serverId).toList();
        if (stuck.isEmpty()) {
            // a rollback resumed after a restart also counts the nodes rolled back before it
            long total = tasks.stream().filter(t -> ids.contains(t.taskId()) || t.status() == NodeStatus.ROLLED_BACK).count();
            return new StatusChange(DeploymentStatus.ROLLED_BACK, haltReason + "; " + total + " changed node(s) rolled back");
        }
        return new StatusChange(DeploymentStatus.FAILED, haltReason + "; rollback failed on " + stuck);
    }

    /** The message of a node whose server was removed while the deployment ran. */
    static String serverRemoved(String serverId) {
        return "server " + serverId + " was removed while this deployment ran";
    }

    /** The message of a node whose rollback cannot even start, e.g. its previous version is gone. */
    static String rollbackImpossible(String why) {
        return "rollback failed: " + why;
    }

    /** The run stopped on an unexpected error. */
    static StatusChange internalError(Throwable e) {
        return new StatusChange(DeploymentStatus.FAILED, "internal error: " + e);
    }

    /** The first reason sticks: later failures do not rewrite why the rollout halted. */
    private void halt(String reason) {
        if (!halted) {
            halted = true;
            haltReason = reason;
        }
    }

    private String budgetExceeded(int failed) {
        return "failure budget exceeded: " + failed + " node(s) failed, at most " + rules.budget() + " allowed";
    }

    private static int count(Collection<NodeTask> tasks, NodeStatus status) {
        return (int) tasks.stream().filter(t -> t.status() == status).count();
    }
}
