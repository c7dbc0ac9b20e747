package dev.deploykit.store.fs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Artifact;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.support.Sha256;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileArtifactStoreTest {
    @TempDir
    Path tmp;

    private static final byte[] BYTES = "package bytes".getBytes(StandardCharsets.UTF_8);

    private List<Path> files() throws Exception {
        try (Stream<Path> all = Files.walk(tmp)) {
            return all.filter(Files::isRegularFile).toList();
        }
    }

    @Test
    void aStagedCopyKeepsItsNameAndIsStoredUnderItsDigestOnCommit() throws Exception {
        FileArtifactStore store = new FileArtifactStore(tmp);
        String digest = Sha256.hex(digestOf(BYTES));
        try (ArtifactStore.Staged staged = store.stage(new ByteArrayInputStream(BYTES), "app_1.0_all.deb")) {
            assertEquals("app_1.0_all.deb", staged.path().getFileName().toString());
            assertArrayEquals(BYTES, Files.readAllBytes(staged.path()));
            assertEquals(new Artifact(digest, BYTES.length), staged.artifact());
            assertTrue(store.find(digest).isEmpty(), "not stored before commit");
            assertEquals(staged.artifact(), staged.commit());
            assertEquals(staged.artifact(), staged.commit());
        }
        assertEquals(List.of(tmp.resolve("sha256").resolve(digest)), files());
        try (InputStream in = store.open(digest, 0)) {
            assertArrayEquals(BYTES, in.readAllBytes());
        }
        try (ArtifactStore.Staged again = store.stage(new ByteArrayInputStream(BYTES), "../odd/name")) {
            assertEquals("blob", again.path().getFileName().toString());
            again.commit();
        }
        assertEquals(1, files().size(), "the same bytes are stored once");
    }

    @Test
    void closingWithoutCommitLeavesNothing() throws Exception {
        FileArtifactStore store = new FileArtifactStore(tmp);
        Path staged;
        try (ArtifactStore.Staged s = store.stage(new ByteArrayInputStream(BYTES), "app.tar.gz")) {
            staged = s.path();
            assertTrue(Files.exists(staged));
        }
        assertFalse(Files.exists(staged.getParent()));
        assertEquals(List.of(), files());
        try (Stream<Path> dirs = Files.list(tmp.resolve("sha256"))) {
            assertEquals(List.of(), dirs.toList());
        }
    }

    private static java.security.MessageDigest digestOf(byte[] bytes) {
        java.security.MessageDigest d = Sha256.newDigest();
        d.update(bytes);
        return d;
    }
}
