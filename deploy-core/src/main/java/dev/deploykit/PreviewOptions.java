package dev.deploykit;

/**
 * How {@link DeployKit#preview(DeployPlan, PreviewOptions)} finds each node's current version.
 * Immutable.
 *
 * <ul>
 *   <li>{@link #stored()} (the default): from the inventory DeployKit stored, contacting no node;
 *       each {@link NodePreview} says when that inventory was last seen and flags it as stale when
 *       the server is not {@link Liveness#ONLINE};</li>
 *   <li>{@link #live()}: each ONLINE node in the deployment is asked through its transport (the
 *       package format's query command, as the {@code query} step of a deployment does), changing
 *       nothing, not even the stored inventory; a node that is not ONLINE, or whose query fails, falls
 *       back to the stored inventory and its preview says so.</li>
 * </ul>
 *
 * <pre>{@code
 * kit.preview(plan, PreviewOptions.live()).forEach(p ->
 *         System.out.println(p.serverId() + " " + p.currentVersion() + " (" + p.versionSource() + ")"));
 * }</pre>
 *
 * @param readLive read the current version from ONLINE nodes
 */
public record PreviewOptions(boolean readLive) {
    private static final PreviewOptions STORED = new PreviewOptions(false);
    private static final PreviewOptions LIVE = new PreviewOptions(true);

    /** From the stored inventory only (the default). */
    public static PreviewOptions stored() {
        return STORED;
    }

    /** From ONLINE nodes themselves, the stored inventory for the others. */
    public static PreviewOptions live() {
        return LIVE;
    }
}
