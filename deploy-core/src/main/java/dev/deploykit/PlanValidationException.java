package dev.deploykit;

/**
 * A plan, or its target, is invalid. Thrown by {@code DeployPlan.Builder.build()} and by
 * {@code DeployKit.preview/start} before any node is touched. {@link #field()} names the bad part
 * of the plan, e.g. {@code rollout.batchPercent} or {@code target.groups}.
 */
public class PlanValidationException extends DeployException {
    private final String field;

    public PlanValidationException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    /** The plan field that is wrong, in dotted form. */
    public String field() {
        return field;
    }
}
