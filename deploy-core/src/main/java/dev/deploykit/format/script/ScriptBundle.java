package dev.deploykit.format.script;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Writes a script bundle in the layout {@link ScriptBundleFormat} reads, for building bundles from
 * code (tests, examples, build tools): {@code .tar.gz}, {@code .tar.zst} or {@code .tar} after the
 * target's name. A large payload that does not compress (binaries already compressed, media) is
 * best shipped as {@code .tar}: the node then unpacks it at the speed of a copy. With
 * {@link #modifiedAt(Instant)} the same content always gives the same bytes (entries in a fixed
 * order, fixed times and owners), so publishing it twice is publishing one package. Not thread-safe.
 *
 * <pre>{@code
 * Path file = ScriptBundle.builder("web-app", "1.2.0")
 *         .description("demo web app")
 *         .script("install", "echo installing $DEPLOYKIT_VERSION")
 *         .script("health", "test -f \"$DEPLOYKIT_BUNDLE_DIR/app.conf\"")
 *         .file("app.conf", "port=8080\n")
 *         .writeTo(dir.resolve("web-app-1.2.0.tar.gz"));
 * }</pre>
 */
public final class ScriptBundle {
    private final Map<String, String> manifest = new LinkedHashMap<>();
    private final Map<String, byte[]> files = new LinkedHashMap<>();
    private final Map<String, Path> trees = new LinkedHashMap<>();
    private FileTime modified;

    private ScriptBundle(String name, String version) {
        manifest.put("name", name);
        manifest.put("version", version);
    }

    public static ScriptBundle builder(String name, String version) {
        return new ScriptBundle(name, version);
    }

    public ScriptBundle description(String description) {
        manifest.put("description", description.replace("\n", " "));
        return this;
    }

    /** A lifecycle script ({@code install, upgrade, downgrade, remove, health}) or the service ({@code service}): a POSIX sh body. */
    public ScriptBundle script(String phase, String body) {
        if (!ScriptBundleFormat.PHASES.contains(phase)) {
            throw new IllegalArgumentException("script phase must be one of " + ScriptBundleFormat.PHASES + ", but was " + phase);
        }
        files.put("scripts/" + phase, ("#!/bin/sh\nset -e\n" + body + "\n").getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /** A payload file at {@code path} (relative, no {@code ..}). */
    public ScriptBundle file(String path, String content) {
        return file(path, content.getBytes(StandardCharsets.UTF_8));
    }

    /** A binary payload file at {@code path} (relative, no {@code ..}). */
    public ScriptBundle file(String path, byte[] content) {
        files.put(path, content.clone());
        return this;
    }

    /** Another manifest field, read back as a {@link dev.deploykit.PackageMetadata#fields() field} of the package. */
    public ScriptBundle field(String key, String value) {
        if (key == null || !key.matches("[A-Za-z][A-Za-z0-9._-]{0,63}") || isFixed(key)) {
            throw new IllegalArgumentException("a manifest field key is [A-Za-z][A-Za-z0-9._-]{0,63} and not name or version, but was " + key);
        }
        manifest.put(key, value);
        return this;
    }

    /**
     * Every file, directory and symlink under {@code dir} as payload under {@code prefix/}, read when
     * the bundle is written (streamed: any size), in path order, with the executable bit kept.
     */
    public ScriptBundle tree(String prefix, Path dir) {
        trees.put(dev.deploykit.format.ArchivePaths.relative(prefix, "tree prefix"), dir);
        return this;
    }

    /** Every entry's time (default: now), for bundles whose bytes depend on their content only. */
    public ScriptBundle modifiedAt(Instant time) {
        this.modified = FileTime.from(time);
        return this;
    }

    private static boolean isFixed(String key) {
        return key.equals("name") || key.equals("version");
    }

    /** Writes the bundle to {@code target} and returns it. */
    public Path writeTo(Path target) {
        BundleCompression compression = BundleCompression.forName(target);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(target), 64 * 1024);
                TarArchiveOutputStream tar = new TarArchiveOutputStream(compression.compress(out))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            StringBuilder props = new StringBuilder();
            manifest.forEach((k, v) -> props.append(k).append('=').append(escape(v)).append('\n'));
            put(tar, ScriptBundleFormat.MANIFEST, props.toString().getBytes(StandardCharsets.UTF_8), 0644);
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                put(tar, f.getKey(), f.getValue(), f.getKey().startsWith("scripts/") ? 0755 : 0644);
            }
            for (Map.Entry<String, Path> t : trees.entrySet()) {
                putTree(tar, t.getKey(), t.getValue());
            }
            tar.finish();
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write bundle " + target, e);
        }
    }

    /** A manifest value as {@link java.util.Properties#load} reads it back: backslashes and line breaks escaped. */
    private static String escape(String value) {
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
    }

    private void put(TarArchiveOutputStream tar, String name, byte[] data, int mode) throws IOException {
        TarArchiveEntry entry = entry(name, TarConstants.LF_NORMAL, mode);
        entry.setSize(data.length);
        tar.putArchiveEntry(entry);
        tar.write(data);
        tar.closeArchiveEntry();
    }

    private void putTree(TarArchiveOutputStream tar, String prefix, Path dir) throws IOException {
        List<Path> paths = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.filter(p -> !p.equals(dir)).forEach(paths::add);
        }
        paths.sort((a, b) -> dir.relativize(a).toString().compareTo(dir.relativize(b).toString()));
        for (Path p : paths) {
            String name = prefix + "/" + dir.relativize(p);
            if (Files.isSymbolicLink(p)) {
                TarArchiveEntry link = entry(name, TarConstants.LF_SYMLINK, 0777);
                link.setLinkName(Files.readSymbolicLink(p).toString());
                tar.putArchiveEntry(link);
                tar.closeArchiveEntry();
            } else if (Files.isDirectory(p)) {
                tar.putArchiveEntry(entry(name + "/", TarConstants.LF_DIR, 0755));
                tar.closeArchiveEntry();
            } else {
                TarArchiveEntry file = entry(name, TarConstants.LF_NORMAL, Files.isExecutable(p) ? 0755 : 0644);
                file.setSize(Files.size(p));
                tar.putArchiveEntry(file);
                Files.copy(p, tar);
                tar.closeArchiveEntry();
            }
        }
    }

    private TarArchiveEntry entry(String name, byte type, int mode) {
        TarArchiveEntry entry = new TarArchiveEntry(name, type);
        entry.setMode(mode);
        if (modified != null) {
            entry.setModTime(modified);
            entry.setUserName("");
            entry.setGroupName("");
        }
        return entry;
    }
}
