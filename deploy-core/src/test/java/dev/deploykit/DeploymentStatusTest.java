package dev.deploykit;

import static dev.deploykit.DeploymentStatus.CANCELLED;
import static dev.deploykit.DeploymentStatus.FAILED;
import static dev.deploykit.DeploymentStatus.PAUSED;
import static dev.deploykit.DeploymentStatus.PLANNED;
import static dev.deploykit.DeploymentStatus.ROLLED_BACK;
import static dev.deploykit.DeploymentStatus.RUNNING;
import static dev.deploykit.DeploymentStatus.SUCCEEDED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The transition table of {@link DeploymentStatus}, and the flows the engine takes through it. */
class DeploymentStatusTest {

    /** The table of {@code docs/plan-semantics.md}, written out again to check the enum against. */
    private static final Map<DeploymentStatus, Set<DeploymentStatus>> LEGAL = Map.of(
            PLANNED, EnumSet.of(RUNNING, PAUSED, FAILED),
            RUNNING, EnumSet.of(RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK),
            PAUSED, EnumSet.of(RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK),
            SUCCEEDED, EnumSet.of(RUNNING, PAUSED),
            FAILED, EnumSet.of(RUNNING, PAUSED),
            CANCELLED, EnumSet.noneOf(DeploymentStatus.class),
            ROLLED_BACK, EnumSet.noneOf(DeploymentStatus.class));

    @Test
    void everyPairIsLegalExactlyWhenTheTableSaysSo() {
        for (DeploymentStatus from : DeploymentStatus.values()) {
            for (DeploymentStatus to : DeploymentStatus.values()) {
                assertEquals(LEGAL.get(from).contains(to), from.canMoveTo(to), from + " -> " + to);
            }
        }
    }

    @Test
    void nothingMovesBackToPlannedAndCancelledAndRolledBackAreFinal() {
        for (DeploymentStatus s : DeploymentStatus.values()) {
            assertTrue(!s.canMoveTo(PLANNED) && !CANCELLED.canMoveTo(s) && !ROLLED_BACK.canMoveTo(s), s.toString());
        }
    }

    /** A sequence of statuses a deployment goes through in the engine today. */
    record Flow(String behaviour, List<DeploymentStatus> statuses) {
        @Override
        public String toString() {
            return behaviour;
        }
    }

    static List<Flow> flows() {
        return List.of(
                new Flow("a run succeeds", List.of(PLANNED, RUNNING, SUCCEEDED)),
                new Flow("pause and resume", List.of(PLANNED, RUNNING, PAUSED, RUNNING, SUCCEEDED)),
                new Flow("manual promotion after a canary paused by the user", List.of(PLANNED, RUNNING, PAUSED, PAUSED, RUNNING, SUCCEEDED)),
                new Flow("a pause before the run starts", List.of(PLANNED, PAUSED, RUNNING, SUCCEEDED)),
                new Flow("a pause during the last batch ends the run paused", List.of(PLANNED, RUNNING, PAUSED, SUCCEEDED)),
                new Flow("a halt while paused", List.of(PLANNED, RUNNING, PAUSED, FAILED)),
                new Flow("cancel", List.of(PLANNED, RUNNING, CANCELLED)),
                new Flow("cancel while paused", List.of(PLANNED, RUNNING, PAUSED, CANCELLED)),
                new Flow("a rollback starts with a new reason", List.of(PLANNED, RUNNING, RUNNING, ROLLED_BACK)),
                new Flow("a rollback that fails", List.of(PLANNED, RUNNING, RUNNING, FAILED)),
                new Flow("a pause during a rollback", List.of(PLANNED, RUNNING, RUNNING, PAUSED, ROLLED_BACK)),
                new Flow("a rollback after a halt while paused, then resume", List.of(PLANNED, RUNNING, PAUSED, RUNNING, RUNNING, ROLLED_BACK)),
                new Flow("an internal error before the run started", List.of(PLANNED, FAILED)),
                new Flow("a restart continues a running deployment", List.of(PLANNED, RUNNING, RUNNING, SUCCEEDED)),
                new Flow("a restart of a paused deployment, resumed", List.of(PLANNED, RUNNING, PAUSED, RUNNING, SUCCEEDED)),
                new Flow("retryFailed on a failed deployment", List.of(PLANNED, RUNNING, FAILED, RUNNING, SUCCEEDED)),
                new Flow("retryFailed on a succeeded deployment", List.of(PLANNED, RUNNING, SUCCEEDED, RUNNING, SUCCEEDED)),
                new Flow("a pause right after retryFailed", List.of(PLANNED, RUNNING, FAILED, PAUSED, RUNNING, FAILED)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("flows")
    void engineFlowIsLegal(Flow flow) {
        for (int i = 1; i < flow.statuses().size(); i++) {
            DeploymentStatus from = flow.statuses().get(i - 1);
            DeploymentStatus to = flow.statuses().get(i);
            assertTrue(from.canMoveTo(to), from + " -> " + to);
        }
    }
}
