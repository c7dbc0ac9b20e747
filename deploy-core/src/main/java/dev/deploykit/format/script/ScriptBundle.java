package dev.deploykit.format.script;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Writes a script bundle in the layout {@link ScriptBundleFormat} reads, for building bundles from
 * code (tests, examples, build tools): {@code .tar.gz}, {@code .tar.zst} or {@code .tar} after the
 * target's name. A large payload that does not compress (binaries already compressed, media) is
 * best shipped as {@code .tar}: the node then unpacks it at the speed of a copy. Not thread-safe.
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

    private ScriptBundle(String name, String version) {
        manifest.put("name", name);
        manifest.put("version", version);
    }

    public static ScriptBundle builder(String name, String version) {
        return new ScriptBundle(name, version);
    }

    public ScriptBundle description(String description) {
        manifest.put("description", description);
        return this;
    }

    /** A lifecycle script ({@code install, upgrade, downgrade, remove, health}): a POSIX sh body. */
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

    /** Writes the bundle to {@code target} and returns it. */
    public Path writeTo(Path target) {
        BundleCompression compression = BundleCompression.forName(target);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(target), 64 * 1024);
                TarArchiveOutputStream tar = new TarArchiveOutputStream(compression.compress(out))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            StringBuilder props = new StringBuilder();
            manifest.forEach((k, v) -> props.append(k).append('=').append(v.replace("\n", " ")).append('\n'));
            put(tar, ScriptBundleFormat.MANIFEST, props.toString().getBytes(StandardCharsets.UTF_8), 0644);
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                put(tar, f.getKey(), f.getValue(), f.getKey().startsWith("scripts/") ? 0755 : 0644);
            }
            tar.finish();
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write bundle " + target, e);
        }
    }

    private static void put(TarArchiveOutputStream tar, String name, byte[] data, int mode) throws IOException {
        TarArchiveEntry entry = new TarArchiveEntry(name);
        entry.setSize(data.length);
        entry.setMode(mode);
        tar.putArchiveEntry(entry);
        tar.write(data);
        tar.closeArchiveEntry();
    }
}
