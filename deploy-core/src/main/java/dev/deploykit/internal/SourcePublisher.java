package dev.deploykit.internal;

import dev.deploykit.BundleScripts;
import dev.deploykit.ConflictException;
import dev.deploykit.NotFoundException;
import dev.deploykit.Package;
import dev.deploykit.PackageFormatException;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.ScriptSets;
import dev.deploykit.StoreException;
import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.format.script.ScriptBundleFormat;
import dev.deploykit.spi.SecretSource;
import dev.deploykit.spi.SourceRevision;
import dev.deploykit.version.DebianVersions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Publishes a revision of a registered source as a script bundle: resolve the ref, export the tree
 * into a scratch directory, write a bundle whose bytes depend only on the revision (so the same
 * revision published twice is the same package), publish it, delete the scratch directory. A
 * version already published from another revision (a moved tag) is refused before anything is
 * exported. Thread-safe; concurrent publishes of one revision give one package.
 *
 * <p>Bundle layout: {@code bundle.properties} (with the {@code source.*} fields), {@code scripts/}
 * (from the repository's scripts directory or a saved script set) and {@code tree/} (the revision's
 * tree as is, scripts directory included).
 */
final class SourcePublisher {
    static final String TREE = "tree";
    private static final int MAX_MESSAGE_CHARS = 4096;
    private static final long MAX_SCRIPT_BYTES = 1024 * 1024;

    private final SourceRegistry sources;
    private final ScriptSets scriptSets;
    private final SecretSource secrets;
    private final BiFunction<String, String, Optional<Package>> published;
    private final Function<Path, Package> publish;

    SourcePublisher(SourceRegistry sources, ScriptSets scriptSets, SecretSource secrets,
            BiFunction<String, String, Optional<Package>> published, Function<Path, Package> publish) {
        this.sources = sources;
        this.scriptSets = scriptSets;
        this.secrets = secrets;
        this.published = published;
        this.publish = publish;
    }

    Package publish(String name, String ref) {
        SourceRegistry.Registered source = sources.registered(name).orElseThrow(() -> new NotFoundException("source", name));
        if (ref == null || ref.isBlank()) {
            throw new IllegalArgumentException("a ref (tag, branch, commit or path) is needed to publish from source " + name);
        }
        SourceRevision revision = source.source().resolve(ref.trim(), secrets);
        if (!DebianVersions.isValid(revision.version())) {
            throw new PackageFormatException("source " + name + " derived version '" + revision.version() + "' for " + revision.ref()
                    + ", which is not a Debian-style version");
        }
        Optional<Package> existing = published.apply(name, revision.version());
        if (existing.isPresent()) {
            return same(existing.get(), source, revision);
        }
        Path work = scratch();
        try {
            Path tree = Files.createDirectory(work.resolve(TREE));
            source.source().export(revision, tree, secrets);
            ScriptBundle bundle = ScriptBundle.builder(name, revision.version())
                    .description(source.source().type() + " " + revision.shortId() + ": " + revision.subject())
                    .modifiedAt(revision.time());
            fields(source, revision).forEach(bundle::field);
            scripts(bundle, source, tree, revision);
            bundle.tree(TREE, tree);
            return publish.apply(bundle.writeTo(work.resolve(name + "-" + revision.version() + ".tar.gz")));
        } catch (IOException e) {
            throw new StoreException("cannot write the bundle of " + name + " " + revision.version() + ": " + e.getMessage(), e, false);
        } finally {
            delete(work);
        }
    }

    /** The package already published under the revision's version: the same one, or a conflict. */
    private static Package same(Package existing, SourceRegistry.Registered source, SourceRevision revision) {
        Map<String, String> f = existing.metadata().fields();
        if (source.name().equals(f.get("source")) && revision.id().equals(f.get("source.revision"))) {
            return existing;
        }
        String was = f.containsKey("source.revision")
                ? "from revision " + f.get("source.revision") + " (" + f.getOrDefault("source.ref", "?") + ")"
                : "from a package file";
        throw new ConflictException("package", existing.name() + " " + existing.version(), "package " + existing.name() + " "
                + existing.version() + " is already published " + was + ", but " + revision.ref() + " is now revision " + revision.id()
                + ": a moved tag is a different package under the same version; publish it under a new tag");
    }

    private static Map<String, String> fields(SourceRegistry.Registered source, SourceRevision revision) {
        Map<String, String> fields = new java.util.LinkedHashMap<>();
        fields.put("source", source.name());
        fields.put("source.type", source.source().type());
        fields.put("source.location", source.source().location());
        fields.put("source.ref", revision.ref());
        fields.put("source.revision", revision.id());
        fields.put("source.short", revision.shortId());
        fields.put("source.author", revision.author());
        fields.put("source.time", revision.time().toString());
        String message = revision.message().strip();
        fields.put("source.message", message.length() > MAX_MESSAGE_CHARS ? message.substring(0, MAX_MESSAGE_CHARS) + "..." : message);
        revision.notes().forEach((k, v) -> fields.put("source." + k, v));
        return fields;
    }

    private void scripts(ScriptBundle bundle, SourceRegistry.Registered source, Path tree, SourceRevision revision) throws IOException {
        if (source.scripts() instanceof BundleScripts.Stored stored) {
            ScriptSet set = scriptSets.get(stored.name(), stored.version())
                    .orElseThrow(() -> new NotFoundException("script set", stored.name() + " " + stored.version()));
            Map<String, Script> byName = BundleScriptText.byName(set);
            for (String phase : byName.keySet()) {
                if (!ScriptBundleFormat.PHASES.contains(phase)) {
                    throw new PackageFormatException("script set " + set.name() + " has script '" + phase + "'; a bundle's scripts are named "
                            + ScriptBundleFormat.PHASES);
                }
            }
            requireInstall(byName.containsKey("install"), "script set " + set.name() + " " + stored.version(), source, revision);
            byName.forEach((phase, script) -> bundle.script(phase, BundleScriptText.of(set, script)));
            return;
        }
        String dir = ((BundleScripts.Directory) source.scripts()).path();
        Path root = tree.toRealPath();
        boolean install = false;
        for (String phase : ScriptBundleFormat.PHASES) {
            Path file = tree.resolve(dir).resolve(phase);
            if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || !file.toRealPath().startsWith(root)) {
                throw new PackageFormatException(dir + "/" + phase + " at " + revision.ref() + " is not a regular file of the repository");
            }
            if (Files.size(file) > MAX_SCRIPT_BYTES) {
                throw new PackageFormatException(dir + "/" + phase + " at " + revision.ref() + " is over " + MAX_SCRIPT_BYTES + " bytes");
            }
            bundle.file("scripts/" + phase, Files.readAllBytes(file));
            install |= phase.equals("install");
        }
        requireInstall(install, "directory " + dir + "/", source, revision);
    }

    private static void requireInstall(boolean present, String where, SourceRegistry.Registered source, SourceRevision revision) {
        if (!present) {
            throw new PackageFormatException("source " + source.name() + " at " + revision.ref() + ": no install script in " + where
                    + "; add one, or register the source with BundleScripts.scriptSet(...)");
        }
    }

    private static Path scratch() {
        try {
            return Files.createTempDirectory("deploykit-source-");
        } catch (IOException e) {
            throw new StoreException("cannot create a scratch directory for a source export: " + e.getMessage(), e, false);
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover scratch directory is only disk space; the temp dir is cleaned by the OS
        }
    }
}
