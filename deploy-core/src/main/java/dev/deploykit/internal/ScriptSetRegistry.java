package dev.deploykit.internal;

import dev.deploykit.ConflictException;
import dev.deploykit.ScriptSet;
import dev.deploykit.ScriptSets;
import dev.deploykit.spi.Store;
import dev.deploykit.version.DebianVersions;
import java.util.List;
import java.util.Optional;

/** {@link ScriptSets} over the store; thread-safe because the store's put is atomic and never overwrites. */
final class ScriptSetRegistry implements ScriptSets {
    private final Store store;

    ScriptSetRegistry(Store store) {
        this.store = store;
    }

    @Override
    public ScriptSet save(ScriptSet set, String version) {
        java.util.Objects.requireNonNull(set, "set");
        if (version == null || !DebianVersions.isValid(version)) {
            throw new IllegalArgumentException("script set version must be a Debian-style version such as 1.0, but was " + version);
        }
        if (!store.putScriptSet(set, version)) {
            ScriptSet stored = store.scriptSet(set.name(), version).orElseThrow();
            if (!stored.equals(set)) {
                throw new ConflictException("script set", set.name() + " " + version, "script set " + set.name() + " " + version
                        + " is already saved with other scripts; a saved version never changes, save a new version");
            }
        }
        return set;
    }

    @Override
    public Optional<ScriptSet> get(String name, String version) {
        return store.scriptSet(name, version);
    }

    @Override
    public List<String> versions(String name) {
        return store.scriptSetVersions(name).stream().sorted(DebianVersions.ORDER).toList();
    }
}
