package dev.deploykit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.DeployPlan;
import dev.deploykit.DeployPlan.BatchFailureMode;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.internal.RolloutState.Ending;
import dev.deploykit.internal.RolloutState.Finish;
import dev.deploykit.internal.RolloutState.RollBack;
import dev.deploykit.internal.RolloutState.Rules;
import dev.deploykit.internal.RolloutState.StatusChange;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The rollout rules of {@code docs/plan-semantics.md} (failure budget, canary, batch failure mode,
 * rollback, cancel, restart, retry), on {@link RolloutState} alone: no process, no transport, no
 * store, no threads.
 *
 * <p>Most cases are a rollout written as one character per target node, in target order, saying
 * how the node ends once dispatched: {@code +} succeeded (changed), {@code x} failed after its
 * action started (changed), {@code e} failed before its action (not changed), {@code =} skipped.
 * {@link Simulation} drives the rules the way {@link DeploymentRun} does, one node at a time.
 */
class RolloutStateTest {
    private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

    // ---- the rollout table ----

    /** A rollout of {@code results} under {@code plan}: how many nodes it dispatches and how it ends. */
    record Case(String behaviour, DeployPlan plan, String results, int dispatched, StatusChange end) {
        @Override
        public String toString() {
            return behaviour;
        }
    }

    static List<Case> rollouts() {
        return List.of(
                new Case("20 nodes, 10%, third failure halts",
                        plan(b -> b.batch(BatchSize.count(1)).maxFailed(BatchSize.percent(10))), "++x+x++x++++++++++++", 8,
                        failed("failure budget exceeded: 3 node(s) failed, at most 2 allowed")),
                new Case("failures within the budget succeed and the final reason counts them",
                        plan(b -> b.batch(BatchSize.percent(25)).maxFailed(BatchSize.percent(10))), "++x+x+++++++++++++++", 20,
                        new StatusChange(DeploymentStatus.SUCCEEDED, "2 node(s) failed within the failure budget of 2")),
                new Case("no failure succeeds with no reason",
                        plan(b -> b.batch(BatchSize.count(2))), "++++", 4, new StatusChange(DeploymentStatus.SUCCEEDED, "")),
                new Case("skipped nodes are not failures",
                        plan(b -> b.batch(BatchSize.count(1))), "=+=", 3, new StatusChange(DeploymentStatus.SUCCEEDED, "")),
                new Case("a 5% budget of 10 nodes rounds down to 0: the first failure halts",
                        plan(b -> b.batch(BatchSize.count(1)).maxFailed(BatchSize.percent(5))), "+x++++++++", 2,
                        failed("failure budget exceeded: 1 node(s) failed, at most 0 allowed")),
                new Case("failures equal to the budget do not halt, one more does",
                        plan(b -> b.batch(BatchSize.count(1)).maxFailed(BatchSize.count(2))), "xx+x++", 4,
                        failed("failure budget exceeded: 3 node(s) failed, at most 2 allowed")),
                new Case("a failure before the action counts against the budget like any other",
                        plan(b -> b.batch(BatchSize.count(1))), "+e++", 2,
                        failed("failure budget exceeded: 1 node(s) failed, at most 0 allowed")),
                new Case("canary failure halts inside the budget",
                        plan(b -> b.canary(BatchSize.count(1)).maxFailed(BatchSize.count(2))), "x+++", 1,
                        failed("canary batch failed on 1 node(s)")),
                new Case("canary batch runs to its end before its failures halt",
                        plan(b -> b.canary(BatchSize.count(3)).maxFailed(BatchSize.count(5))), "xx+++++", 3,
                        failed("canary batch failed on 2 node(s)")),
                new Case("a successful canary goes on to the batches",
                        plan(b -> b.canary(BatchSize.count(1)).batch(BatchSize.count(2)).maxFailed(BatchSize.count(1))), "++x++", 5,
                        new StatusChange(DeploymentStatus.SUCCEEDED, "1 node(s) failed within the failure budget of 1")),
                new Case("FAIL_FAST stops dispatch, even the rest of the batch",
                        plan(b -> b.batch(BatchSize.count(4))), "+x++++++", 2,
                        failed("failure budget exceeded: 1 node(s) failed, at most 0 allowed")),
                new Case("FINISH_BATCH finishes the batch",
                        plan(b -> b.batch(BatchSize.count(4)).batchFailureMode(BatchFailureMode.FINISH_BATCH)), "+x+x++++", 4,
                        failed("failure budget exceeded: 1 node(s) failed, at most 0 allowed")),
                new Case("no rollback without rollbackOnFailure: the halt ends FAILED",
                        plan(b -> b.canary(BatchSize.count(1)).batch(BatchSize.count(2))), "++x+++", 3,
                        failed("failure budget exceeded: 1 node(s) failed, at most 0 allowed")),
                new Case("with rollbackOnFailure a halt rolls the changed nodes back first",
                        plan(b -> b.canary(BatchSize.count(1)).batch(BatchSize.count(2)).rollbackOnFailure(true)), "++x+++", 3,
                        new StatusChange(DeploymentStatus.RUNNING,
                                "failure budget exceeded: 1 node(s) failed, at most 0 allowed; rolling back 3 changed node(s)")),
                new Case("a halt with nothing changed fails: there is nothing to roll back",
                        plan(b -> b.batch(BatchSize.count(1)).rollbackOnFailure(true)), "e++", 1,
                        new StatusChange(DeploymentStatus.FAILED,
                                "failure budget exceeded: 1 node(s) failed, at most 0 allowed; no node was changed")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rollouts")
    void rollout(Case c) {
        Simulation run = Simulation.run(c.plan(), c.results());
        assertEquals(c.dispatched(), run.dispatched.size(), "dispatched " + run.dispatched);
        assertEquals(ids(IntStream.rangeClosed(1, c.dispatched())), run.dispatched, "dispatch follows target order");
        StatusChange end = run.ending instanceof RollBack r ? r.start() : ((Finish) run.ending).status();
        assertEquals(c.end(), end);
    }

    // ---- the failure budget ----

    record Budget(int nodes, BatchSize maxFailed, int budget) {
        @Override
        public String toString() {
            return "maxFailed(" + maxFailed + ") of " + nodes + " nodes tolerates " + budget;
        }
    }

    static List<Budget> budgets() {
        return List.of(
                new Budget(20, BatchSize.percent(10), 2),
                new Budget(10, BatchSize.percent(5), 0),
                new Budget(10, BatchSize.percent(25), 2),
                new Budget(7, BatchSize.percent(50), 3),
                new Budget(3, BatchSize.percent(100), 3),
                new Budget(10, BatchSize.count(3), 3),
                new Budget(10, BatchSize.count(0), 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("budgets")
    void failureBudgetRoundsDown(Budget b) {
        assertEquals(b.budget(), Rules.of(plan(p -> p.maxFailed(b.maxFailed())), false, b.nodes()).budget());
    }

    @Test
    void theBudgetDefaultsToZero() {
        assertEquals(0, Rules.of(plan(p -> p), false, 100).budget());
    }

    @Test
    void theFirstHaltReasonSticks() {
        RolloutState state = state(plan(p -> p.canary(BatchSize.count(2))), 5);
        state.nodeEnded(task("n01", 0, NodeStatus.FAILED, true), false);
        state.nodeEnded(task("n02", 0, NodeStatus.FAILED, true), false);
        assertFalse(state.batchEnded(0, List.of(task("n01", 0, NodeStatus.FAILED, true), task("n02", 0, NodeStatus.FAILED, true))));
        assertEquals("failure budget exceeded: 1 node(s) failed, at most 0 allowed", state.haltReason());
        assertEquals(2, state.failures());
    }

    @Test
    void aFailedRollbackDoesNotCountAgainstTheBudget() {
        RolloutState state = state(plan(p -> p), 3);
        state.nodeEnded(task("n01", 0, NodeStatus.FAILED, true), true);
        assertEquals(0, state.failures());
        assertFalse(state.halted());
        assertEquals("", state.haltReason());
    }

    @Test
    void aRollbackIsDispatchedAfterAFailFastHalt() {
        RolloutState state = state(plan(p -> p), 3);
        state.nodeEnded(task("n01", 0, NodeStatus.FAILED, true), false);
        assertFalse(state.mayDispatch(false));
        assertTrue(state.mayDispatch(true));
    }

    @Test
    void finishBatchKeepsDispatchingTheBatchButStartsNoLaterBatch() {
        RolloutState state = state(plan(p -> p.batchFailureMode(BatchFailureMode.FINISH_BATCH)), 8);
        NodeTask failed = task("n01", 0, NodeStatus.FAILED, true);
        state.nodeEnded(failed, false);
        assertTrue(state.mayDispatch(false));
        assertFalse(state.batchEnded(0, List.of(failed)));
    }

    // ---- nodes never dispatched, and the end of the run ----

    @Test
    void neverDispatchedNodesEndWithNotDispatchedAndTheHaltReason() {
        Simulation run = Simulation.run(plan(b -> b.batch(BatchSize.count(1)).maxFailed(BatchSize.percent(10))), "++x+x++x++++++++++++");
        assertEquals(Optional.of("not dispatched: failure budget exceeded: 3 node(s) failed, at most 2 allowed"), run.ending.notDispatched());
        for (String id : ids(IntStream.rangeClosed(9, 20))) {
            NodeTask t = run.tasks.get(id);
            assertEquals(NodeStatus.CANCELLED, t.status(), id);
            assertEquals("not dispatched: failure budget exceeded: 3 node(s) failed, at most 2 allowed", t.message(), id);
        }
    }

    @Test
    void aSuccessfulRunLeavesNoNodeToMarkNotDispatched() {
        Simulation run = Simulation.run(plan(b -> b.batch(BatchSize.count(1))), "+++");
        assertEquals(Optional.empty(), run.ending.notDispatched());
    }

    @Test
    @DisplayName("rollback set after a partial batch")
    void rollbackSetIsTheChangedNodesThatSucceededOrFailedAfterAPartialBatch() {
        // batch 0 is n01..n06: n01 skipped, n02 changed, n03 failed before its action (1 failure,
        // within the budget), n04 failed after it (2 > 1: halt), n05 and n06 never dispatched; batch 1
        // (n07, n08) never starts
        Simulation run = Simulation.run(plan(b -> b.batch(BatchSize.count(6)).maxFailed(BatchSize.count(1)).rollbackOnFailure(true)),
                "=+ex++++");
        assertEquals(List.of("n01", "n02", "n03", "n04"), run.dispatched);
        RollBack rollBack = assertInstanceOf(RollBack.class, run.ending);
        assertEquals(List.of("n02", "n04"), rollBack.nodes().stream().map(NodeTask::serverId).toList());
    }

    @Test
    void rollbackSetLeavesSkippedUndispatchedAndCancelledNodesAlone() {
        List<NodeTask> tasks = List.of(task("n01", 0, NodeStatus.SUCCEEDED, true), task("n02", 0, NodeStatus.FAILED, true),
                task("n03", 0, NodeStatus.FAILED, false), task("n04", 0, NodeStatus.SKIPPED, false),
                task("n05", 0, NodeStatus.CANCELLED, false), task("n06", 0, NodeStatus.CANCELLED, true),
                // a retried node keeps changed=true, but one never dispatched again is not touched
                task("n07", 1, NodeStatus.PENDING, true));
        assertEquals(List.of("n01", "n02"), RolloutState.rollbackSet(tasks).stream().map(NodeTask::serverId).toList());
    }

    @Test
    void rollbackOfEveryChangedNodeEndsRolledBack() {
        RolloutState state = halted(plan(p -> p.rollbackOnFailure(true)));
        List<NodeTask> changed = List.of(task("n01", 0, NodeStatus.SUCCEEDED, true), task("n02", 0, NodeStatus.FAILED, true));
        List<NodeTask> after = List.of(task("n01", 0, NodeStatus.ROLLED_BACK, true), task("n02", 0, NodeStatus.ROLLED_BACK, true),
                task("n03", 0, NodeStatus.CANCELLED, false));
        assertEquals(new StatusChange(DeploymentStatus.ROLLED_BACK,
                "failure budget exceeded: 1 node(s) failed, at most 0 allowed; 2 changed node(s) rolled back"), state.afterRollback(changed, after));
    }

    @Test
    void aRollbackThatFailsSomewhereEndsFailedNamingTheStuckNodes() {
        RolloutState state = halted(plan(p -> p.rollbackOnFailure(true)));
        List<NodeTask> changed = List.of(task("n01", 0, NodeStatus.SUCCEEDED, true), task("n02", 0, NodeStatus.FAILED, true),
                task("n03", 0, NodeStatus.SUCCEEDED, true));
        List<NodeTask> after = List.of(task("n01", 0, NodeStatus.ROLLED_BACK, true), task("n02", 0, NodeStatus.FAILED, true),
                task("n03", 0, NodeStatus.CANCELLED, true), task("n04", 0, NodeStatus.FAILED, false));
        assertEquals(new StatusChange(DeploymentStatus.FAILED,
                "failure budget exceeded: 1 node(s) failed, at most 0 allowed; rollback failed on [n02, n03]"),
                state.afterRollback(changed, after));
    }

    @Test
    void cancelEndsCancelledWithNoRollbackEvenAfterAHalt() {
        RolloutState state = halted(plan(p -> p.rollbackOnFailure(true)));
        Ending ending = state.ending(true, List.of(task("n01", 0, NodeStatus.FAILED, true), task("n02", 0, NodeStatus.PENDING, false)));
        assertEquals(new Finish(Optional.of("deployment cancelled"), new StatusChange(DeploymentStatus.CANCELLED, "cancelled by user")),
                ending);
    }

    // ---- manual promotion ----

    record Promotion(String behaviour, DeployPlan plan, int batch, int batches, boolean pauses) {
        @Override
        public String toString() {
            return behaviour;
        }
    }

    static List<Promotion> promotions() {
        DeployPlan promoted = plan(p -> p.canary(BatchSize.count(1)).manualPromote(true));
        return List.of(
                new Promotion("manual promotion pauses after a successful canary", promoted, 0, 3, true),
                new Promotion("manual promotion does not pause after a later batch", promoted, 1, 3, false),
                new Promotion("manual promotion does not pause when the canary is the only batch", promoted, 0, 1, false),
                new Promotion("without manual promotion the canary does not pause", plan(p -> p.canary(BatchSize.count(1))), 0, 3, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("promotions")
    void promotion(Promotion c) {
        Optional<StatusChange> pause = state(c.plan(), 5).promotionPause(c.batch(), c.batches());
        assertEquals(c.pauses() ? Optional.of(new StatusChange(DeploymentStatus.PAUSED,
                "canary batch succeeded; waiting for promotion (resume) before batch 1")) : Optional.empty(), pause);
    }

    // ---- restart and retry ----

    @Test
    @DisplayName("restart restores the budget")
    void restartRestoresTheFailureCountSoTheBudgetIsNotRefilled() {
        DeployPlan plan = plan(p -> p.batch(BatchSize.count(1)).maxFailed(BatchSize.percent(10)));
        List<NodeTask> stored = new ArrayList<>();
        for (String id : ids(IntStream.rangeClosed(1, 20))) {
            int n = Integer.parseInt(id.substring(1));
            stored.add(task(id, n - 1, n == 3 || n == 5 ? NodeStatus.FAILED : n < 8 ? NodeStatus.SUCCEEDED : NodeStatus.PENDING, n < 8));
        }
        RolloutState state = state(plan, 20);
        state.restoreFrom(stored);
        assertEquals(2, state.failures());
        assertFalse(state.halted(), "2 failures are within a budget of 2");
        state.nodeEnded(task("n08", 7, NodeStatus.FAILED, true), false);
        assertTrue(state.halted(), "the third failure after the restart halts");
        assertEquals("failure budget exceeded: 3 node(s) failed, at most 2 allowed", state.haltReason());
    }

    record Restart(String behaviour, DeployPlan plan, List<NodeTask> stored, boolean halted, String reason) {
        @Override
        public String toString() {
            return behaviour;
        }
    }

    static List<Restart> restarts() {
        return List.of(
                new Restart("restart restores a halt past the budget", plan(p -> p.maxFailed(BatchSize.count(1))),
                        List.of(task("n01", 0, NodeStatus.FAILED, true), task("n02", 0, NodeStatus.FAILED, true), task("n03", 1, NodeStatus.PENDING, false)),
                        true, "failure budget exceeded: 2 node(s) failed, at most 1 allowed"),
                new Restart("restart restores a failed canary as a halt, whatever the budget",
                        plan(p -> p.canary(BatchSize.count(1)).maxFailed(BatchSize.count(2))),
                        List.of(task("n01", 0, NodeStatus.FAILED, true), task("n02", 1, NodeStatus.PENDING, false)), true, "canary batch failed"),
                new Restart("restart within the budget does not halt", plan(p -> p.maxFailed(BatchSize.count(1))),
                        List.of(task("n01", 0, NodeStatus.FAILED, true), task("n02", 1, NodeStatus.PENDING, false)), false, ""),
                new Restart("restart without a canary does not treat batch 0 as one", plan(p -> p.maxFailed(BatchSize.count(1))),
                        List.of(task("n01", 0, NodeStatus.FAILED, true), task("n02", 1, NodeStatus.SUCCEEDED, true)), false, ""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("restarts")
    void restart(Restart c) {
        RolloutState state = new RolloutState(Rules.of(c.plan(), c.plan().canary().roundUp(c.stored().size()) > 0, c.stored().size()));
        state.restoreFrom(c.stored());
        assertEquals(c.halted(), state.halted());
        assertEquals(c.reason(), state.haltReason());
    }

    @Test
    void restartReSendsExactlyTheTasksThatWereInFlight() {
        for (NodeStatus s : NodeStatus.values()) {
            boolean inFlight = s == NodeStatus.DISPATCHED || s == NodeStatus.RUNNING;
            assertEquals(inFlight, RolloutState.resentAfterRestart(task("n01", 0, s, false)), s.toString());
        }
    }

    @Test
    @DisplayName("restart mid-rollback resumes the rollback, not the rollout")
    void aRestartDuringTheRollbackRestoresTheHaltAndRollsBackTheInterruptedNodesAgain() {
        DeployPlan plan = plan(p -> p.canary(BatchSize.count(1)).batch(BatchSize.count(1)).rollbackOnFailure(true));
        NodeTask n1 = task("n01", 0, NodeStatus.ROLLED_BACK, true);
        NodeTask n2 = task("n02", 1, NodeStatus.RUNNING, true).with(NodeStatus.RUNNING, "rollback:downgrade", "", NOW);
        NodeTask n3 = task("n03", 2, NodeStatus.FAILED, true);
        NodeTask n4 = task("n04", 3, NodeStatus.CANCELLED, false);
        List<NodeTask> stored = List.of(n1, n2, n3, n4);
        assertFalse(RolloutState.resentAfterRestart(n2), "a node in its rollback is not sent forward again");
        RolloutState state = new RolloutState(Rules.of(plan, true, 4));
        state.restoreFrom(stored);
        assertTrue(state.halted(), "a rollback only follows a halt");
        RollBack rollBack = assertInstanceOf(RollBack.class, state.ending(false, stored));
        assertEquals(List.of("n02", "n03"), rollBack.nodes().stream().map(NodeTask::serverId).toList(),
                "the interrupted rollback and the one not yet started; n01 is done");
        List<NodeTask> after = List.of(n1, n2.with(NodeStatus.ROLLED_BACK, "rollback:downgrade", "", NOW),
                n3.with(NodeStatus.ROLLED_BACK, "rollback:downgrade", "", NOW), n4);
        StatusChange end = state.afterRollback(rollBack.nodes(), after);
        assertEquals(DeploymentStatus.ROLLED_BACK, end.to());
        assertTrue(end.reason().endsWith("; 3 changed node(s) rolled back"), end.reason());
    }

    @Test
    @DisplayName("a halt with nothing changed fails instead of rolling back nothing")
    void aHaltWithNoChangedNodeEndsFailedNotRolledBack() {
        RolloutState state = halted(plan(p -> p.rollbackOnFailure(true)));
        // the failed node failed before its action step (staging, a full disk): nothing to undo
        List<NodeTask> tasks = List.of(task("n01", 0, NodeStatus.FAILED, false), task("n02", 1, NodeStatus.PENDING, false));
        Finish finish = assertInstanceOf(Finish.class, state.ending(false, tasks));
        assertEquals(DeploymentStatus.FAILED, finish.status().to());
        assertTrue(finish.status().reason().endsWith("; no node was changed"), finish.status().reason());
    }

    @Test
    void retryFailedResetsTheBudget() {
        RolloutState state = state(plan(p -> p.maxFailed(BatchSize.count(1))), 4);
        state.nodeEnded(task("n01", 0, NodeStatus.FAILED, true), false);
        state.nodeEnded(task("n02", 0, NodeStatus.FAILED, true), false);
        assertTrue(state.halted());
        state.retried();
        assertEquals(0, state.failures());
        assertFalse(state.halted());
        assertEquals("", state.haltReason());
        assertTrue(state.mayDispatch(false));
        state.nodeEnded(task("n01", 0, NodeStatus.FAILED, true), false);
        assertFalse(state.halted(), "the retry has the whole budget again");
    }

    @Test
    void retryFailedRunsTheFailedNodesOfAFailedOrSucceededDeployment() {
        for (DeploymentStatus s : DeploymentStatus.values()) {
            assertEquals(s == DeploymentStatus.FAILED || s == DeploymentStatus.SUCCEEDED, RolloutState.retryable(s), s.toString());
        }
        List<NodeTask> tasks = List.of(task("n01", 0, NodeStatus.SUCCEEDED, true), task("n02", 0, NodeStatus.FAILED, true),
                task("n03", 1, NodeStatus.CANCELLED, false), task("n04", 1, NodeStatus.FAILED, false));
        assertEquals(List.of("n02", "n04"), RolloutState.retrySet(tasks).stream().map(NodeTask::serverId).toList());
    }

    // ---- helpers ----

    private static StatusChange failed(String reason) {
        return new StatusChange(DeploymentStatus.FAILED, reason);
    }

    /** An install plan on every server, as {@code edit} sets it. */
    private static DeployPlan plan(UnaryOperator<DeployPlan.Builder> edit) {
        return edit.apply(DeployPlan.builder().action(Action.install("app", "1.0")).targetAll()).build();
    }

    private static RolloutState state(DeployPlan plan, int nodes) {
        return new RolloutState(Rules.of(plan, plan.canary().roundUp(nodes) > 0, nodes));
    }

    /** A state over 3 nodes halted by one failure beyond a budget of 0. */
    private static RolloutState halted(DeployPlan plan) {
        RolloutState state = state(plan, 3);
        state.nodeEnded(task("n01", 0, NodeStatus.FAILED, true), false);
        assertTrue(state.halted());
        return state;
    }

    private static NodeTask task(String serverId, int batch, NodeStatus status, boolean changed) {
        return new NodeTask("d-1", "d-1-" + serverId, serverId, batch, status, "", null, "1.0", changed, "", 1, NOW);
    }

    private static List<String> ids(IntStream numbers) {
        return numbers.mapToObj(n -> String.format("n%02d", n)).toList();
    }

    /**
     * Drives {@link RolloutState} as {@link DeploymentRun} does, with one node in flight at a time:
     * batches in order, each node dispatched while {@link RolloutState#mayDispatch} allows, a batch
     * started only while {@link RolloutState#batchEnded} allows, then the {@link Ending} and the
     * never-dispatched nodes marked. Batches are cut the way {@link Planner} cuts them.
     */
    static final class Simulation {
        final Map<String, NodeTask> tasks = new LinkedHashMap<>();
        final List<String> dispatched = new ArrayList<>();
        Ending ending;

        static Simulation run(DeployPlan plan, String results) {
            Simulation sim = new Simulation();
            int n = results.length();
            List<String> ids = ids(IntStream.rangeClosed(1, n));
            int canary = plan.canary().roundUp(n);
            List<List<String>> batches = Planner.batches(ids, canary, plan.batch().roundUp(n));
            RolloutState state = new RolloutState(Rules.of(plan, canary > 0, n));
            for (int b = 0; b < batches.size(); b++) {
                for (String id : batches.get(b)) {
                    sim.tasks.put(id, task(id, b, NodeStatus.PENDING, false));
                }
            }
            for (int b = 0; b < batches.size(); b++) {
                for (String id : batches.get(b)) {
                    if (!state.mayDispatch(false)) {
                        break;
                    }
                    NodeTask end = ended(sim.tasks.get(id), results.charAt(ids.indexOf(id)));
                    sim.tasks.put(id, end);
                    sim.dispatched.add(id);
                    state.nodeEnded(end, false);
                }
                int batch = b;
                if (!state.batchEnded(b, sim.tasks.values().stream().filter(t -> t.batch() == batch).toList())) {
                    break;
                }
            }
            sim.ending = state.ending(false, List.copyOf(sim.tasks.values()));
            sim.ending.notDispatched().ifPresent(why -> sim.tasks.replaceAll((id, t) -> t.status() == NodeStatus.PENDING
                    ? t.with(NodeStatus.CANCELLED, t.step(), why, NOW) : t));
            return sim;
        }

        private static NodeTask ended(NodeTask t, char result) {
            return switch (result) {
                case '+' -> t.withPrevious(null, true).with(NodeStatus.SUCCEEDED, "health-check", "", NOW);
                case 'x' -> t.withPrevious(null, true).with(NodeStatus.FAILED, "health-check", "unhealthy", NOW);
                case 'e' -> t.with(NodeStatus.FAILED, "ensure-artifact", "checksum mismatch", NOW);
                case '=' -> t.with(NodeStatus.SKIPPED, "query", "already at 1.0", NOW);
                default -> throw new IllegalArgumentException("unknown result '" + result + "'");
            };
        }
    }
}
