package dev.deploykit.format.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.DeployKit;
import dev.deploykit.PackageFormatException;
import dev.deploykit.PackageMetadata;
import dev.deploykit.transport.local.LocalTransport;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ScriptBundleFormatTest {
    private static final ScriptBundleFormat FORMAT = ScriptBundleFormat.create();
    @TempDir
    Path tmp;

    @Test
    void inspectReadsTheManifestAndLifecycleScripts() {
        Path file = ScriptBundle.builder("web-app", "1:2.0~rc1-3").description("demo app")
                .script("install", "true").script("health", "true").file("conf/app.conf", "x=1")
                .writeTo(tmp.resolve("b.tar.gz"));
        assertTrue(FORMAT.recognizes(file));
        PackageMetadata m = FORMAT.inspect(file);
        assertEquals("web-app", m.name());
        assertEquals("1:2.0~rc1-3", m.version());
        assertEquals("demo app", m.description());
        assertEquals("health,install", m.fields().get("scripts"));
    }

    @Test
    void versionsFollowDebianOrder() {
        List<String> sorted = Stream.of("1.10", "1.0~rc1", "1.9", "1:0.1", "1.0", "1.0-1", "1.0+b1", "1.0a")
                .sorted(FORMAT.versionOrder()).toList();
        assertEquals(List.of("1.0~rc1", "1.0", "1.0-1", "1.0a", "1.0+b1", "1.9", "1.10", "1:0.1"), sorted);
    }

    /** A tar.gz with the given raw entries, written by commons-compress without any checks. */
    private Path archive(String name, Consumer<TarArchiveOutputStream> entries) throws IOException {
        Path file = tmp.resolve(name);
        try (OutputStream out = Files.newOutputStream(file);
                TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(out))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            file(tar, "bundle.properties", "name=evil\nversion=1.0\n");
            file(tar, "scripts/install", "true\n");
            entries.accept(tar);
            tar.finish();
        }
        return file;
    }

    private static void file(TarArchiveOutputStream tar, String name, String content) {
        try {
            byte[] data = content.getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry(name, true);
            e.setSize(data.length);
            tar.putArchiveEntry(e);
            tar.write(data);
            tar.closeArchiveEntry();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void link(TarArchiveOutputStream tar, String name, String target, byte type) {
        try {
            TarArchiveEntry e = new TarArchiveEntry(name, type, true);
            e.setLinkName(target);
            tar.putArchiveEntry(e);
            tar.closeArchiveEntry();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    record Evil(String label, String expected, Consumer<TarArchiveOutputStream> entries) {
        @Override
        public String toString() {
            return label;
        }
    }

    static Stream<Evil> maliciousBundles() {
        return Stream.of(
                new Evil("dot-dot path", "contains '..'", t -> file(t, "payload/../../../escaped", "x")),
                new Evil("absolute path", "absolute", t -> file(t, "/tmp/escaped", "x")),
                new Evil("symlink to absolute path", "absolute path", t -> link(t, "etc", "/etc", TarArchiveEntry.LF_SYMLINK)),
                new Evil("symlink climbing out", "outside the bundle", t -> link(t, "a/up", "../../..", TarArchiveEntry.LF_SYMLINK)),
                new Evil("symlink with inner dot-dot", "only at the start", t -> {
                    link(t, "self", ".", TarArchiveEntry.LF_SYMLINK);
                    link(t, "out", "self/..", TarArchiveEntry.LF_SYMLINK);
                }),
                new Evil("write through a symlink", "through the symlink", t -> {
                    link(t, "dir", "sub", TarArchiveEntry.LF_SYMLINK);
                    file(t, "dir/file", "x");
                }),
                new Evil("hard link out", "contains '..'", t -> link(t, "h", "../../etc/passwd", TarArchiveEntry.LF_LINK)),
                new Evil("device", "device or fifo", t -> link(t, "dev", "", TarArchiveEntry.LF_CHR)),
                new Evil("oversized manifest", "at most 65536", t -> file(t, "bundle.properties", "x".repeat(70_000))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("maliciousBundles")
    void maliciousBundleIsRefusedAndNothingIsStoredOrWritten(Evil evil) throws Exception {
        Path file = archive("evil.tar.gz", evil.entries());
        PackageFormatException e = assertThrows(PackageFormatException.class, () -> FORMAT.inspect(file));
        assertTrue(e.getMessage().contains(evil.expected()), e.getMessage());

        Path artifacts = tmp.resolve("artifacts");
        try (DeployKit kit = DeployKit.builder().transport(LocalTransport.create()).artifactDir(artifacts).build()) {
            assertThrows(PackageFormatException.class, () -> kit.packages().publish(file));
            assertEquals(List.of(), kit.packages().names());
        }
        try (Stream<Path> stored = Files.list(artifacts.resolve("sha256"))) {
            assertEquals(List.of(), stored.toList(), "no artifact kept");
        }
        assertFalse(Files.exists(Path.of("/tmp/escaped")));
        assertFalse(Files.exists(tmp.getParent().resolve("escaped")));
    }

    @Test
    void corruptOrIncompleteBundlesAreRefusedWithTheReason() throws Exception {
        Path good = ScriptBundle.builder("app", "1.0").script("install", "true").writeTo(tmp.resolve("good.tar.gz"));
        byte[] bytes = Files.readAllBytes(good);
        Path truncated = Files.write(tmp.resolve("truncated.tar.gz"), Arrays.copyOf(bytes, bytes.length / 2));
        assertThrows(PackageFormatException.class, () -> FORMAT.inspect(truncated));
        byte[] flipped = bytes.clone();
        flipped[20] ^= 0x55;
        Path corrupt = Files.write(tmp.resolve("corrupt.tar.gz"), flipped);
        assertThrows(PackageFormatException.class, () -> FORMAT.inspect(corrupt));
        Path notGzip = Files.writeString(tmp.resolve("plain.tar.gz"), "hello");
        assertFalse(FORMAT.recognizes(notGzip));

        Path noInstall = ScriptBundle.builder("app", "1.0").script("health", "true").writeTo(tmp.resolve("a.tar.gz"));
        assertTrue(assertThrows(PackageFormatException.class, () -> FORMAT.inspect(noInstall)).getMessage().contains("scripts/install"));
        Path badVersion = ScriptBundle.builder("app", "v1").script("install", "true").writeTo(tmp.resolve("v.tar.gz"));
        assertTrue(assertThrows(PackageFormatException.class, () -> FORMAT.inspect(badVersion)).getMessage().contains("'v1'"));
        Path badName = ScriptBundle.builder("../app", "1.0").script("install", "true").writeTo(tmp.resolve("n.tar.gz"));
        assertTrue(assertThrows(PackageFormatException.class, () -> FORMAT.inspect(badName)).getMessage().contains("'../app'"));
    }
}
