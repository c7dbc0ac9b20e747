package dev.deploykit;

import java.time.Instant;

/**
 * What a plan would do on one node. By default computed from the store without touching the node;
 * with {@link PreviewOptions#live()} the current version of each ONLINE node is read from the node.
 *
 * @param currentVersion version in the server's last seen inventory (or read live, see
 *                       {@code versionSource}), null if none
 * @param targetVersion  version the plan installs, null for remove and scripts
 * @param noop           true when the node is already where the plan would take it
 * @param batch          batch number the node would run in (0 is the canary when there is one), -1
 *                       when it is left out
 * @param cordoned       the server is cordoned ({@link Servers#cordon})
 * @param leftOut        why the target matched this server but the deployment would leave it out
 *                       (it is cordoned), null when it is in the deployment
 * @param versionSource  where {@code currentVersion} comes from
 * @param lastSeen       when the server was last heard from ({@link Server#lastSeen()}), null if never
 * @param liveness       the server's {@link Liveness} now
 * @param inventoryNote  about {@code currentVersion} in words when it may be out of date ("stale
 *                       inventory: last seen 12m ago (OFFLINE)"), or where it was read from; null
 *                       when the stored inventory of an ONLINE server was used
 * @param scripts        for a script action, the script set that would run ("hooks 1.1" for a
 *                       stored set, the name alone for one given inline), else null
 * @param rollbackNote   for a plan that rolls back on failure, why this node could not be rolled
 *                       back (its current version is not published: installed outside DeployKit, or
 *                       deleted since), so that it is known before the rollout starts; else null
 * @param source         when the target package was published from a source ({@link Packages#publishFrom}):
 *                       the revision before and after, with the revisions in between where cheap; else null
 */
public record NodePreview(String serverId, String currentVersion, String targetVersion, boolean noop, int batch, boolean canary,
        boolean cordoned, String leftOut, VersionSource versionSource, Instant lastSeen, Liveness liveness, String inventoryNote,
        String scripts, String rollbackNote, SourceChange source) {

    /** Where a preview's current version was read. */
    public enum VersionSource {
        /** The inventory DeployKit stored for the server (updated by deployments and refreshes). */
        INVENTORY,
        /** Queried from the node now, through its transport, by the package format's query command. */
        LIVE
    }

    /** A preview of a node in the deployment, from the stored inventory, with nothing else known. */
    public NodePreview(String serverId, String currentVersion, String targetVersion, boolean noop, int batch, boolean canary) {
        this(serverId, currentVersion, targetVersion, noop, batch, canary, false, null, VersionSource.INVENTORY, null, null, null,
                null, null, null);
    }

    /** True when the deployment would include this node. */
    public boolean included() {
        return leftOut == null;
    }
}
