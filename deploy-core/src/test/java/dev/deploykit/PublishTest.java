package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.format.script.ScriptBundleFormat;
import dev.deploykit.spi.support.Sha256;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.transport.local.LocalTransport;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Publish reads a file once: what it inspected is what it stores, whatever happens to the file meanwhile. */
class PublishTest {
    @TempDir
    Path tmp;

    private DeployKit kit(Path artifacts) {
        return DeployKit.builder().transport(LocalTransport.create()).artifactDir(artifacts).build();
    }

    private Path good(String name) {
        return ScriptBundle.builder("app", "1.0").script("install", "true").file("app.conf", "port=8080\n").writeTo(tmp.resolve(name));
    }

    /** The same name and version as {@link #good}, with a symlink to an absolute path. */
    private Path bad(String name) throws IOException {
        Path file = tmp.resolve(name);
        try (OutputStream out = Files.newOutputStream(file); TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(out))) {
            for (String[] f : new String[][] {{"bundle.properties", "name=app\nversion=1.0\n"}, {"scripts/install", "true\n"}}) {
                TarArchiveEntry e = new TarArchiveEntry(f[0]);
                e.setSize(f[1].length());
                tar.putArchiveEntry(e);
                tar.write(f[1].getBytes(java.nio.charset.StandardCharsets.UTF_8));
                tar.closeArchiveEntry();
            }
            TarArchiveEntry link = new TarArchiveEntry("etc", TarArchiveEntry.LF_SYMLINK);
            link.setLinkName("/etc");
            tar.putArchiveEntry(link);
            tar.closeArchiveEntry();
        }
        return file;
    }

    private static byte[] stored(Path artifacts, Package pkg) throws IOException {
        try (InputStream in = new FileArtifactStore(artifacts).open(pkg.artifact().sha256(), 0)) {
            return in.readAllBytes();
        }
    }

    private static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.filter(p -> !Files.isDirectory(p) || p.getFileName().toString().startsWith("incoming")).toList();
        }
    }

    @Test
    void storesTheBytesItInspectedEvenWhenTheFileIsReplacedRightAfter() throws Exception {
        Path artifacts = tmp.resolve("artifacts");
        Path file = good("app.tar.gz");
        byte[] original = Files.readAllBytes(file);
        try (DeployKit kit = kit(artifacts)) {
            Package pkg = kit.packages().publish(file);
            Files.copy(bad("bad.tar.gz"), file, StandardCopyOption.REPLACE_EXISTING);
            byte[] stored = stored(artifacts, pkg);
            assertArrayEquals(original, stored);
            assertEquals(pkg.artifact().sha256(), Sha256.of(Files.write(tmp.resolve("stored"), stored)));
            assertEquals(List.of(artifacts.resolve("sha256").resolve(pkg.artifact().sha256())), files(artifacts));
        }
    }

    @Test
    void aRefusedPublishLeavesNoStagedOrPartialFile() throws Exception {
        Path artifacts = tmp.resolve("artifacts");
        try (DeployKit kit = kit(artifacts)) {
            PackageFormatException e = assertThrows(PackageFormatException.class, () -> kit.packages().publish(bad("bad.tar.gz")));
            assertTrue(e.getMessage().startsWith("bad.tar.gz: "), "errors name the published file: " + e.getMessage());
            assertEquals(List.of(), kit.packages().names());
        }
        assertEquals(List.of(), files(artifacts));
    }

    @Test
    void aFileSwappedBackAndForthWhilePublishingIsStoredAsInspectedOrNotAtAll() throws Exception {
        Path artifacts = tmp.resolve("artifacts");
        Path good = good("good.tar.gz");
        Path bad = bad("bad.tar.gz");
        Path file = Files.copy(good, tmp.resolve("app.tar.gz"));
        AtomicBoolean stop = new AtomicBoolean();
        Thread swapper = new Thread(() -> {
            Path next = tmp.resolve("next.tmp");
            for (int i = 0; !stop.get(); i++) {
                try {
                    Files.copy(i % 2 == 0 ? bad : good, next, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }, "swapper");
        int published = 0;
        int refused = 0;
        try (DeployKit kit = kit(artifacts)) {
            swapper.start();
            for (int i = 0; i < 200; i++) {
                Package pkg;
                try {
                    pkg = kit.packages().publish(file);
                } catch (PackageFormatException e) {
                    refused++;
                    assertEquals(List.of(), kit.packages().names());
                    continue;
                }
                published++;
                Path copy = Files.write(tmp.resolve("stored.tar.gz"), stored(artifacts, pkg));
                assertEquals(pkg.artifact().sha256(), Sha256.of(copy), "stored bytes have the package's digest");
                assertEquals("app", ScriptBundleFormat.create().inspect(copy).name(), "what was stored inspects clean");
                assertTrue(kit.packages().delete("app", "1.0"));
            }
        } finally {
            stop.set(true);
            swapper.join();
        }
        assertTrue(published > 0 && refused > 0, "the race ran both ways: " + published + " published, " + refused + " refused");
        assertEquals(List.of(), files(artifacts));
    }
}
