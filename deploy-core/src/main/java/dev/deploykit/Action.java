package dev.deploykit;

/**
 * What a plan does on each node. Exactly one action per plan.
 *
 * <ul>
 *   <li>{@link Install}: install or upgrade (or downgrade) a published package version;</li>
 *   <li>{@link Remove}: remove a package;</li>
 *   <li>{@link RunScripts}: run a {@link ScriptSet} in order;</li>
 *   <li>{@link RunStoredScripts}: run a script set saved in {@link DeployKit#scriptSets()}, by name
 *       and version;</li>
 *   <li>{@link Rollback}: return every node an earlier deployment changed to the version it had
 *       before that deployment.</li>
 * </ul>
 */
public sealed interface Action {

    static Action install(String packageName, String version) {
        return new Install(packageName, version);
    }

    static Action remove(String packageName) {
        return new Remove(packageName, false);
    }

    /**
     * Removes {@code packageName} with its configuration files ({@code dpkg --purge}); for formats
     * without configuration kept apart (rpm, which saves changed ones as {@code .rpmsave}, and script
     * bundles) the same as {@link #remove}.
     */
    static Action purge(String packageName) {
        return new Remove(packageName, true);
    }

    static Action runScripts(ScriptSet scripts) {
        return new RunScripts(scripts);
    }

    /**
     * Runs version {@code version} of the script set saved as {@code name}; the set is looked up
     * when the plan is previewed or started (a version not saved is a {@link PlanValidationException}
     * on {@code action}), and the deployment stores only the reference.
     */
    static Action runScripts(String name, String version) {
        return new RunStoredScripts(name, version);
    }

    static Action rollback(String deploymentId) {
        return new Rollback(deploymentId);
    }

    /** Install, upgrade or downgrade {@code packageName} to exactly {@code version}. */
    record Install(String packageName, String version) implements Action {
        public Install {
            if (packageName == null || packageName.isBlank() || version == null || version.isBlank()) {
                throw new PlanValidationException("action", "install needs a package name and version, but was "
                        + packageName + " " + version);
            }
        }
    }

    /** Remove {@code packageName}, with its configuration when {@code purge}; nodes without it are skipped. */
    record Remove(String packageName, boolean purge) implements Action {
        public Remove {
            if (packageName == null || packageName.isBlank()) {
                throw new PlanValidationException("action", "remove needs a package name");
            }
        }
    }

    /** Run each script of the set in order; a node stops at its first failing script. */
    record RunScripts(ScriptSet scripts) implements Action {
        public RunScripts {
            if (scripts == null) {
                throw new PlanValidationException("action", "runScripts needs a script set");
            }
        }
    }

    /** Run each script of the saved set {@code name} at {@code version} in order. */
    record RunStoredScripts(String name, String version) implements Action {
        public RunStoredScripts {
            if (name == null || name.isBlank() || version == null || version.isBlank()) {
                throw new PlanValidationException("action", "runScripts needs a saved script set's name and version, but was "
                        + name + " " + version);
            }
        }
    }

    /** Undo deployment {@code deploymentId}: changed nodes go back to their previous version. */
    record Rollback(String deploymentId) implements Action {
        public Rollback {
            if (deploymentId == null || deploymentId.isBlank()) {
                throw new PlanValidationException("action", "rollback needs a deployment id");
            }
        }
    }
}
