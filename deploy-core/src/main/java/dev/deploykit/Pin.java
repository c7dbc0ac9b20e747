package dev.deploykit;

import java.time.Instant;

/**
 * The desired version of one package on every server of one group, and how to get there. Immutable.
 * Kept by {@link DesiredState#pin}; the reconciler converges the group's servers to it.
 *
 * @param group       the group whose servers (explicit members and selector matches) should run it
 * @param packageName the package
 * @param version     the version every server of the group should have, a published one
 * @param strategy    how convergence rolls out (canary, batches, budget, health check, rollback); its
 *                    action is {@code install(packageName, version)} and its target is the group, and
 *                    each converging deployment narrows the target to the servers that differ
 * @param pinnedBy    who pinned it
 * @param pinnedAt    when
 */
public record Pin(String group, String packageName, String version, DeployPlan strategy, String pinnedBy, Instant pinnedAt) {
    public Pin {
        Checks.id("group name", group);
        Checks.notNull("package name", packageName);
        Checks.notNull("version", version);
        Checks.notNull("strategy", strategy);
        pinnedBy = pinnedBy == null ? "" : pinnedBy;
        Checks.notNull("pinnedAt", pinnedAt);
    }

    /** {@code group/packageName}: a group pins one version of a package at a time. */
    public String key() {
        return key(group, packageName);
    }

    public static String key(String group, String packageName) {
        return group + "/" + packageName;
    }
}
