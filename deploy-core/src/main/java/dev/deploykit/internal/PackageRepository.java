package dev.deploykit.internal;

import dev.deploykit.Action;
import dev.deploykit.Artifact;
import dev.deploykit.ConflictException;
import dev.deploykit.Package;
import dev.deploykit.PackageFormatException;
import dev.deploykit.PackageMetadata;
import dev.deploykit.Packages;
import dev.deploykit.ScriptSets;
import dev.deploykit.StoreException;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.DeploymentRecord;
import dev.deploykit.spi.PackageFormat;
import dev.deploykit.spi.SecretSource;
import dev.deploykit.spi.Store;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The package repository. Publish reads the file once, into the artifact store's staging file, and
 * inspects that copy: the bytes inspected are the bytes stored and digested, even if the file is
 * replaced meanwhile, and a bad file leaves no trace. The artifact is stored before the package row,
 * so a stored package always has its bytes.
 */
final class PackageRepository implements Packages {
    private final Store store;
    private final ArtifactStore artifacts;
    private final Map<String, PackageFormat> formats;
    private final Clock clock;
    private final SourcePublisher sources;

    PackageRepository(Store store, ArtifactStore artifacts, Map<String, PackageFormat> formats, Clock clock, SourceRegistry sources,
            ScriptSets scriptSets, SecretSource secrets) {
        this.store = store;
        this.artifacts = artifacts;
        this.formats = formats;
        this.clock = clock;
        this.sources = new SourcePublisher(sources, scriptSets, secrets, this::get, this::publish);
    }

    @Override
    public Package publishFrom(String sourceName, String ref) {
        return sources.publish(sourceName, ref);
    }

    @Override
    public Package publish(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no package file at " + file);
        }
        try (InputStream in = Files.newInputStream(file)) {
            return publish(in, file.getFileName().toString());
        } catch (IOException e) {
            throw new StoreException("cannot read package file " + file + ": " + e.getMessage(), e, false);
        }
    }

    @Override
    public Package publish(InputStream content, String fileName) {
        if (fileName == null || fileName.isBlank() || fileName.contains("/")) {
            throw new IllegalArgumentException("a package file name without directories is needed, but was '" + fileName + "'");
        }
        Package pkg;
        try (ArtifactStore.Staged staged = artifacts.stage(content, fileName)) {
            PackageFormat format = detect(staged.path());
            PackageMetadata metadata = format.inspect(staged.path());
            Optional<Package> existing = store.findPackage(metadata.name(), metadata.version());
            Artifact artifact = staged.commit();
            if (existing.isPresent() && existing.get().artifact().equals(artifact)) {
                return existing.get();
            }
            pkg = new Package(format.name(), artifact, metadata, clock.instant());
        }
        try {
            store.putPackage(pkg);
        } catch (RuntimeException e) {
            if (!isShared(pkg.artifact().sha256())) {
                artifacts.delete(pkg.artifact().sha256());
            }
            throw e;
        }
        return pkg;
    }

    private PackageFormat detect(Path file) {
        List<PackageFormat> matching = formats.values().stream().filter(f -> f.recognizes(file)).toList();
        if (matching.isEmpty()) {
            throw new PackageFormatException(file.getFileName() + " is not a package of any registered format "
                    + formats.keySet());
        }
        if (matching.size() > 1) {
            throw new PackageFormatException(file.getFileName() + " is recognized by several formats "
                    + matching.stream().map(PackageFormat::name).toList() + "; register only one of them");
        }
        return matching.get(0);
    }

    @Override
    public Optional<Package> get(String name, String version) {
        return store.findPackage(name, version);
    }

    @Override
    public List<Package> versions(String name) {
        List<Package> versions = new ArrayList<>(store.packageVersions(name));
        if (!versions.isEmpty()) {
            PackageFormat format = formats.get(versions.get(0).format());
            if (format != null) {
                versions.sort((a, b) -> format.versionOrder().compare(a.version(), b.version()));
            }
        }
        return versions;
    }

    @Override
    public List<String> names() {
        return store.packageNames();
    }

    @Override
    public boolean delete(String name, String version) {
        Optional<Package> pkg = store.findPackage(name, version);
        if (pkg.isEmpty()) {
            return false;
        }
        store.servers().stream().filter(s -> version.equals(s.inventory().get(name))).findFirst().ifPresent(s -> {
            throw new ConflictException("package", name + " " + version, "package " + name + " " + version + " is installed on server " + s.id());
        });
        for (DeploymentRecord d : store.deployments()) {
            if (!d.status().isTerminal() && d.plan().action() instanceof Action.Install i
                    && i.packageName().equals(name) && i.version().equals(version)) {
                throw new ConflictException("package", name + " " + version,
                        "package " + name + " " + version + " is used by unfinished deployment " + d.id());
            }
        }
        boolean removed = store.removePackage(name, version);
        if (removed && !isShared(pkg.get().artifact().sha256())) {
            artifacts.delete(pkg.get().artifact().sha256());
        }
        return removed;
    }

    private boolean isShared(String sha256) {
        return store.packageNames().stream().flatMap(n -> store.packageVersions(n).stream())
                .anyMatch(p -> p.artifact().sha256().equals(sha256));
    }
}
