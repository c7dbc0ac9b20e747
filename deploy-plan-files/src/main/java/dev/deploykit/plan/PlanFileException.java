package dev.deploykit.plan;

import dev.deploykit.DeployException;

/**
 * A plan file is wrong: its syntax, a field, a value, a limit, or (through {@link PlanFile#start})
 * something the plan names that the {@code DeployKit} does not have. The message is
 * {@code plan.yaml:12:10 rollout.batch: must be in 1%..100%, but was 150%}: the file, the line
 * and column (1-based) of the value or key at fault, the field's path in the file, and what is
 * wrong. Not retryable: the same file fails the same way until it is changed.
 */
public class PlanFileException extends DeployException {
    private final String source;
    private final int line;
    private final int column;
    private final String field;
    private final String reason;

    /**
     * @param line   1-based, or 0 when the error is about the file as a whole (it cannot be read)
     * @param field  the field's path in the file ({@code rollout.batch}, {@code target.groups[1]}),
     *               or empty when the error is not about one field (syntax, limits)
     */
    public PlanFileException(String source, int line, int column, String field, String reason, Throwable cause) {
        super(format(source, line, column, field, reason), cause);
        this.source = source;
        this.line = line;
        this.column = column;
        this.field = field == null ? "" : field;
        this.reason = reason;
    }

    private static String format(String source, int line, int column, String field, String reason) {
        String where = line > 0 ? source + ":" + line + ":" + column : source + ":";
        return where + " " + (field == null || field.isEmpty() ? "" : field + ": ") + reason;
    }

    /** The file's name as given to the reader (a path, or a name such as {@code stored plan}). */
    public String source() {
        return source;
    }

    /** 1-based line, or 0 when the error is about the file as a whole. */
    public int line() {
        return line;
    }

    /** 1-based column, or 0 when the error is about the file as a whole. */
    public int column() {
        return column;
    }

    /** The field's path in the file, e.g. {@code rollout.batch} or {@code hooks.before[0].argv}; empty when none. */
    public String field() {
        return field;
    }

    /** What is wrong, without the position and field. */
    public String reason() {
        return reason;
    }
}
