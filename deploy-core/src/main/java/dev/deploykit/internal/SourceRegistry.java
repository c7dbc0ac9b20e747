package dev.deploykit.internal;

import dev.deploykit.BundleScripts;
import dev.deploykit.ConflictException;
import dev.deploykit.Sources;
import dev.deploykit.spi.Source;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/** {@link Sources} in this kit's memory (registrations are not stored). Thread-safe. */
final class SourceRegistry implements Sources {
    /** The script bundle name grammar: a source's name is its bundles' name. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9+._-]{0,127}");

    record Registered(String name, Source source, BundleScripts scripts) {}

    private final Map<String, Registered> byName = new ConcurrentHashMap<>();

    @Override
    public Sources register(String name, Source source, BundleScripts scripts) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a source name is a bundle name, matching " + NAME.pattern() + ", but was " + name);
        }
        java.util.Objects.requireNonNull(source, "source");
        java.util.Objects.requireNonNull(scripts, "scripts");
        Registered wanted = new Registered(name, source, scripts);
        Registered existing = byName.putIfAbsent(name, wanted);
        if (existing != null && (existing.source() != source || !existing.scripts().equals(scripts))) {
            throw new ConflictException("source", name, "source " + name + " is already registered (" + existing.source().type() + " "
                    + existing.source().location() + "); register the new one under another name");
        }
        return this;
    }

    @Override
    public Optional<Source> get(String name) {
        return registered(name).map(Registered::source);
    }

    Optional<Registered> registered(String name) {
        return Optional.ofNullable(name).map(byName::get);
    }

    @Override
    public List<String> names() {
        return byName.keySet().stream().sorted().toList();
    }
}
