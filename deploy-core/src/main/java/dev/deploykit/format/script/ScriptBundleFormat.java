package dev.deploykit.format.script;

import dev.deploykit.Command;
import dev.deploykit.Package;
import dev.deploykit.PackageFormatException;
import dev.deploykit.PackageMetadata;
import dev.deploykit.format.ArchivePaths;
import dev.deploykit.format.Bounded;
import dev.deploykit.format.BoundedTar;
import dev.deploykit.spi.NodeContext;
import dev.deploykit.spi.PackageFormat;
import dev.deploykit.spi.support.NodeServices;
import dev.deploykit.version.DebianVersions;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/**
 * The {@code script} package format: a tar bundle ({@code .tar.gz}, {@code .tar.zst} or plain
 * {@code .tar}, told by its first bytes) holding a manifest and lifecycle scripts. Layout (paths
 * relative to the archive root):
 *
 * <pre>
 * bundle.properties     name=..., version=..., description=... (required: name, version)
 * scripts/install       run on first install            (required)
 * scripts/upgrade       run when moving to a newer version   (optional, else install)
 * scripts/downgrade     run when moving to an older version  (optional, else upgrade, else install)
 * scripts/remove        run before the bundle is removed     (optional)
 * scripts/health        health check, exit 0 when healthy    (optional)
 * scripts/service       a long-running service, started after every install, upgrade and
 *                       downgrade, stopped before remove     (optional; docs/services.md)
 * anything else         payload, available to the scripts
 * </pre>
 *
 * <p>A bundle with {@code scripts/service} may limit it in the manifest: {@code service.memory}
 * (bytes, or with {@code K}, {@code M}, {@code G}) and {@code service.cpu} (cores such as
 * {@code 0.5}, or millicores such as {@code 500m}). The service runs in a cgroup and session of its
 * own ({@link NodeServices}), so neither the agent's restart nor an SSH session's end touches it.
 *
 * <p>On the node, version {@code V} of bundle {@code N} is unpacked into
 * {@code <root>/var/lib/deploykit/bundles/N/V} and {@code .../N/current} is a symlink to the active
 * version. Installing is one command on the node (one round trip): unpack straight from the verified
 * artifact, run the lifecycle script, switch {@code current}. Scripts run with {@code /bin/sh}, cwd
 * the bundle dir, and the environment
 * {@code DEPLOYKIT_ROOT, DEPLOYKIT_PACKAGE, DEPLOYKIT_VERSION, DEPLOYKIT_PREVIOUS_VERSION,
 * DEPLOYKIT_BUNDLE_DIR, DEPLOYKIT_PHASE}.
 *
 * <p>Versions follow Debian's grammar and ordering ({@code 1.0~rc1 < 1.0 < 1.0.1 < 1:0.9}), so one
 * rule serves bundles and deb packages alike.
 *
 * <p>{@link #inspect} refuses an archive with any entry that is absolute, contains {@code ..}, is a
 * link pointing outside the bundle, or is a device or fifo, before anything is written anywhere. It
 * reads the archive through {@link BoundedTar}, with at most 100,000 entries and 16 GiB uncompressed.
 */
public final class ScriptBundleFormat implements PackageFormat {
    public static final String MANIFEST = "bundle.properties";
    /** The lifecycle phases a bundle may have a script for, in the order they are documented. */
    public static final List<String> PHASES = List.of("install", "upgrade", "downgrade", "remove", "health", "service");
    /** The manifest fields that limit a bundle's service. */
    public static final String SERVICE_MEMORY = "service.memory";
    public static final String SERVICE_CPU = "service.cpu";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9+._-]{0,127}");
    private static final int MAX_ENTRIES = 100_000;
    /** Inspection reads the whole bundle; this bounds the time a hostile one can take. */
    private static final long MAX_BYTES = 16L * 1024 * 1024 * 1024;
    private static final int MAX_MANIFEST = 64 * 1024;
    private static final String BUNDLES = "/var/lib/deploykit/bundles";
    /** The metadata field that says how the bundle is compressed ({@code tar.gz}, {@code tar.zst}, {@code tar}). */
    static final String ARCHIVE = "archive";
    /**
     * Install as one command: $1 the version dir, $2 the verified artifact, $3 the lifecycle script,
     * $4 the version, $5 the bundle's home; then the service: $6 its name, $7 its state dir, $8 its
     * cgroup, $9 "service" to (re)start it (else one left by an earlier version is stopped), ${10}
     * and ${11} its limits. Values arrive as arguments, never in the script text.
     */
    private static final String INSTALL = "set -e; rm -rf -- \"$1\"; mkdir -p -- \"$1\"; %s"
            + " || { echo \"deploykit: cannot unpack $2 into $1\" >&2; exit 1; }; cd \"$1\"; /bin/sh \"scripts/$3\";"
            + " ln -sfn -- \"$4\" \"$5/current\"; set +e; svc_init \"$6\" \"$7\" \"$8\";"
            + " if [ \"$9\" = service ]; then svc_start \"$1\" \"${10}\" \"${11}\"; else svc_stop; fi";
    /**
     * Remove as one command: the bundle's service stopped ($2 its name, $3 its state dir, $4 its
     * cgroup), the remove script (when the bundle has one) from $1/current, then $1.
     */
    private static final String REMOVE = NodeServices.functions() + "set +e; svc_init \"$2\" \"$3\" \"$4\"; svc_stop || exit 1;"
            + " rm -rf -- \"$3\"; set -e; if [ -f \"$1/current/scripts/remove\" ]; then (cd \"$1/current\" &&"
            + " exec /bin/sh scripts/remove); fi; rm -rf -- \"$1\"";

    public static ScriptBundleFormat create() {
        return new ScriptBundleFormat();
    }

    private ScriptBundleFormat() {}

    @Override
    public String name() {
        return "script";
    }

    @Override
    public boolean recognizes(Path file) {
        return BundleCompression.of(file).isPresent();
    }

    @Override
    public PackageMetadata inspect(Path file) {
        byte[] manifest = null;
        TreeSet<String> scripts = new TreeSet<>();
        ArchivePaths entryPaths = ArchivePaths.confined();
        BundleCompression compression = BundleCompression.of(file).orElseThrow(() -> new PackageFormatException(file.getFileName()
                + ": not a script bundle: neither gzip, zstd nor tar data"));
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 64 * 1024);
                BoundedTar tar = BoundedTar.open(compression.decompress(raw), "bundle", MAX_ENTRIES, MAX_BYTES)) {
            for (TarArchiveEntry entry = tar.next(); entry != null; entry = tar.next()) {
                String path = entryPaths.check(entry);
                if (path.equals(MANIFEST) && entry.isFile()) {
                    manifest = readBounded(tar.content(), entry, path);
                } else if (path.startsWith("scripts/") && entry.isFile()) {
                    String phase = path.substring("scripts/".length());
                    if (PHASES.contains(phase)) {
                        scripts.add(phase);
                    }
                }
            }
            entryPaths.finish();
        } catch (PackageFormatException e) {
            throw new PackageFormatException(file.getFileName() + ": " + e.getMessage(), e);
        } catch (IOException | IllegalArgumentException e) {
            throw new PackageFormatException(file.getFileName() + ": not a readable ." + compression.suffix + " bundle: " + e.getMessage(), e);
        }
        if (manifest == null) {
            throw new PackageFormatException(file.getFileName() + ": no " + MANIFEST + " at the archive root");
        }
        if (!scripts.contains("install")) {
            throw new PackageFormatException(file.getFileName() + ": no scripts/install in the bundle");
        }
        Properties props = new Properties();
        try {
            props.load(new java.io.InputStreamReader(new ByteArrayInputStream(manifest), StandardCharsets.UTF_8));
        } catch (IOException | IllegalArgumentException e) {
            throw new PackageFormatException(file.getFileName() + ": unreadable " + MANIFEST + ": " + e.getMessage(), e);
        }
        String name = props.getProperty("name", "").trim();
        String version = props.getProperty("version", "").trim();
        if (!NAME.matcher(name).matches()) {
            throw new PackageFormatException(file.getFileName() + ": " + MANIFEST + " name must match " + NAME.pattern()
                    + ", but was '" + name + "'");
        }
        if (!DebianVersions.isValid(version)) {
            throw new PackageFormatException(file.getFileName() + ": " + MANIFEST + " version must follow the Debian "
                    + "version grammar (start with a digit), but was '" + version + "'");
        }
        Map<String, String> fields = new LinkedHashMap<>();
        props.stringPropertyNames().stream().sorted().forEach(k -> fields.put(k, props.getProperty(k).trim()));
        fields.put("scripts", String.join(",", scripts));
        try {
            NodeServices.Limits.parse(fields.get(SERVICE_MEMORY), fields.get(SERVICE_CPU));
        } catch (IllegalArgumentException e) {
            throw new PackageFormatException(file.getFileName() + ": " + MANIFEST + " " + e.getMessage(), e);
        }
        if (!scripts.contains("service") && (fields.containsKey(SERVICE_MEMORY) || fields.containsKey(SERVICE_CPU))) {
            throw new PackageFormatException(file.getFileName() + ": " + MANIFEST + " sets service limits, but the bundle has no scripts/service");
        }
        fields.put(ARCHIVE, compression.suffix);
        return new PackageMetadata(name, version, props.getProperty("description", "").trim(), fields);
    }

    private static byte[] readBounded(InputStream in, TarArchiveEntry entry, String path) throws IOException {
        if (entry.getSize() > MAX_MANIFEST) {
            throw new PackageFormatException(path + " is " + entry.getSize() + " bytes; at most " + MAX_MANIFEST + " allowed");
        }
        // a sparse entry can yield more than its size says
        return Bounded.readAtMost(in, MAX_MANIFEST, path);
    }

    @Override
    public Comparator<String> versionOrder() {
        return DebianVersions.ORDER;
    }

    @Override
    public List<Command> install(NodeContext node, Package pkg, String currentVersion) {
        String home = home(node, pkg.name());
        String dir = home + "/" + pkg.version();
        String phase = phase(pkg, currentVersion);
        Map<String, String> env = env(node, pkg.name(), pkg.version(), currentVersion, dir, phase);
        BundleCompression compression = BundleCompression.fromField(pkg.metadata().fields().get(ARCHIVE));
        Map<String, String> fields = pkg.metadata().fields();
        boolean service = scripts(pkg).contains("service");
        NodeServices.Limits limits = service ? NodeServices.Limits.parse(fields.get(SERVICE_MEMORY), fields.get(SERVICE_CPU))
                : NodeServices.Limits.NONE;
        return List.of(Command.shell(NodeServices.functions() + INSTALL.formatted(compression.untar()), dir, node.artifactPath(), phase, pkg.version(), home,
                pkg.name(), NodeServices.stateDir(node, pkg.name()), NodeServices.cgroupName(node, pkg.name()), service ? "service" : "",
                limits.memoryBytes() < 0 ? "" : Long.toString(limits.memoryBytes()),
                limits.cpuMillis() < 0 ? "" : Integer.toString(limits.cpuMillis())).withEnv(env));
    }

    private static List<String> scripts(Package pkg) {
        return List.of(pkg.metadata().fields().getOrDefault("scripts", "install").split(","));
    }

    /** The lifecycle script to run: install, upgrade or downgrade, falling back as documented. */
    String phase(Package pkg, String currentVersion) {
        List<String> present = scripts(pkg);
        List<String> wanted = new ArrayList<>();
        if (currentVersion != null) {
            int c = versionOrder().compare(pkg.version(), currentVersion);
            if (c < 0) {
                wanted.add("downgrade");
            }
            if (c != 0) {
                wanted.add("upgrade");
            }
        }
        wanted.add("install");
        return wanted.stream().filter(present::contains).findFirst().orElse("install");
    }

    @Override
    public List<Command> remove(NodeContext node, String packageName, String currentVersion) {
        String home = home(node, packageName);
        Map<String, String> env = env(node, packageName, currentVersion, currentVersion, home + "/current", "remove");
        return List.of(Command.shell(REMOVE, home, packageName, NodeServices.stateDir(node, packageName),
                NodeServices.cgroupName(node, packageName)).withEnv(env));
    }

    @Override
    public Command queryInstalled(NodeContext node, String packageName) {
        return Command.of("readlink", "--", home(node, packageName) + "/current");
    }

    @Override
    public String parseInstalled(int exitCode, String stdout) {
        String v = stdout.trim();
        return exitCode == 0 && !v.isEmpty() ? v : null;
    }

    @Override
    public Optional<Command> healthCheck(NodeContext node, Package pkg) {
        if (!scripts(pkg).contains("health")) {
            return Optional.empty();
        }
        String dir = home(node, pkg.name()) + "/" + pkg.version();
        return Optional.of(Command.of("/bin/sh", "scripts/health")
                .withEnv(env(node, pkg.name(), pkg.version(), null, dir, "health")).withCwd(dir));
    }

    private static String home(NodeContext node, String name) {
        if (!NAME.matcher(name).matches()) {
            throw new PackageFormatException("bundle name must match " + NAME.pattern() + ", but was '" + name + "'");
        }
        return node.underRoot(BUNDLES) + "/" + name;
    }

    private static Map<String, String> env(NodeContext node, String name, String version, String previous, String dir, String phase) {
        Map<String, String> env = new HashMap<>();
        env.put("DEPLOYKIT_ROOT", node.root());
        env.put("DEPLOYKIT_PACKAGE", name);
        env.put("DEPLOYKIT_VERSION", version == null ? "" : version);
        env.put("DEPLOYKIT_PREVIOUS_VERSION", previous == null ? "" : previous);
        env.put("DEPLOYKIT_BUNDLE_DIR", dir);
        env.put("DEPLOYKIT_PHASE", phase);
        return env;
    }
}
