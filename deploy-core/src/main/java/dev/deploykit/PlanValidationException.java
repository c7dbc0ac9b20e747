package dev.deploykit;

/**
 * A plan, or its target, is invalid. Thrown by {@code DeployPlan.Builder.build()} and by
 * {@code DeployKit.preview/start} before any node is touched. {@link #field()} names the bad part
 * of the plan, e.g. {@code rollout.batchPercent} or {@code target.groups}; for a list field,
 * {@link #value()} names the bad element (the unknown group, the cordoned server).
 */
public class PlanValidationException extends DeployException {
    private final String field;
    private final String value;

    public PlanValidationException(String field, String message) {
        this(field, null, message);
    }

    /** {@code value} is the element of the list field {@code field} that is wrong, or null. */
    public PlanValidationException(String field, String value, String message) {
        super(field + ": " + message);
        this.field = field;
        this.value = value;
    }

    /** The plan field that is wrong, in dotted form. */
    public String field() {
        return field;
    }

    /**
     * The element of a list field that is wrong (a group name in {@code target.groups}, a server id
     * in {@code target.servers} or {@code target.exclude}), or null when the field as a whole is.
     * A plan read from a file uses it to point at the line of that element.
     */
    public String value() {
        return value;
    }
}
