package dev.deploykit.plan;

import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.NodePreview;
import dev.deploykit.PlanValidationException;
import java.util.List;

/**
 * A plan read from a file, with where each field was written, so that what a {@link DeployKit} finds
 * wrong when it resolves the plan (an unknown group, a package version that is not published) is
 * reported at the line of that field:
 *
 * <pre>{@code
 * PlanFile file = PlanFiles.load(Path.of("deploy/web.yaml"));
 * file.preview(kit).forEach(System.out::println);
 * Deployment d = file.start(kit);
 * // deploy/web.yaml:8:13 target.groups[1]: unknown group 'wbe'
 * }</pre>
 *
 * <p>Immutable and thread-safe; holds nothing to close.
 */
public final class PlanFile {
    private final DeployPlan plan;
    private final PlanTree tree;

    PlanFile(DeployPlan plan, PlanTree tree) {
        this.plan = plan;
        this.tree = tree;
    }

    public DeployPlan plan() {
        return plan;
    }

    /** The file's name as given to the reader. */
    public String source() {
        return tree.source();
    }

    /**
     * {@code e}, thrown for this file's plan, as an error at the field it names: {@code target.groups}
     * with value {@code wbe} points at that element, {@code action} at the action.
     */
    public PlanFileException locate(PlanValidationException e) {
        return tree.locate(e);
    }

    /**
     * {@link DeployKit#preview(DeployPlan)}; touches nothing.
     *
     * @throws PlanFileException when the kit finds the plan invalid, at the field it names
     */
    public List<NodePreview> preview(DeployKit kit) {
        try {
            return kit.preview(plan);
        } catch (PlanValidationException e) {
            throw locate(e);
        }
    }

    /**
     * {@link DeployKit#start(DeployPlan)}.
     *
     * @throws PlanFileException when the kit finds the plan invalid, at the field it names; nothing
     *                           is then stored or started
     */
    public Deployment start(DeployKit kit) {
        try {
            return kit.start(plan);
        } catch (PlanValidationException e) {
            throw locate(e);
        }
    }
}
