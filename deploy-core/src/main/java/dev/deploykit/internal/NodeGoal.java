package dev.deploykit.internal;

import dev.deploykit.Package;
import dev.deploykit.ScriptSet;

/** Where one node should end up, resolved from the plan's action for that node. */
sealed interface NodeGoal {
    /** Install, upgrade or downgrade to this package version. */
    record InstallGoal(Package pkg) implements NodeGoal {}

    /** Remove the package, whose format is {@code format}. */
    record RemoveGoal(String packageName, String format, boolean purge) implements NodeGoal {}

    /** Run scripts in order; {@code version} is the stored set's version, null for a set given inline. */
    record ScriptsGoal(ScriptSet scripts, String version) implements NodeGoal {}

    /** Nothing to do (e.g. a rollback of a node the original deployment did not change). */
    record NoGoal(String reason) implements NodeGoal {}

    /** The version this goal installs, or null. */
    default String targetVersion() {
        return this instanceof InstallGoal i ? i.pkg().version() : null;
    }
}
