package dev.deploykit;

import java.util.List;
import java.util.Optional;

/**
 * Script sets saved by name and version, for plans to run by reference
 * ({@link Action#runScripts(String, String)}). A saved version never changes: saving the same name
 * and version again with the same scripts is harmless, with other scripts a
 * {@link ConflictException}, so every deployment that names a version runs the same commands
 * (a controller that resumes a deployment resolves it again to the same set). Obtained from
 * {@link DeployKit#scriptSets()}. Thread-safe.
 *
 * <pre>{@code
 * kit.scriptSets().save(ScriptSet.of("rotate-logs", Script.of("rotate", Command.shell("logrotate -f /etc/logrotate.conf"))), "1.0");
 * kit.start(DeployPlan.builder().action(Action.runScripts("rotate-logs", "1.0")).targetGroups("web").build());
 * }</pre>
 */
public interface ScriptSets {
    /**
     * Saves {@code set} as version {@code version} of {@code set.name()} and returns it. The version
     * must be a valid Debian-style version ({@code 1.0}, {@code 2.3-1}), as for script bundles, or
     * it is an {@link IllegalArgumentException}.
     */
    ScriptSet save(ScriptSet set, String version);

    /** The saved version, or empty. */
    Optional<ScriptSet> get(String name, String version);

    /** Saved versions of {@code name}, lowest first by Debian version order; empty when none. */
    List<String> versions(String name);
}
