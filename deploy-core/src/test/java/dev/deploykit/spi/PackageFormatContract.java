package dev.deploykit.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.PackageFormatException;
import dev.deploykit.PackageMetadata;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conformance suite every {@link PackageFormat} passes: it reads real files it recognizes, refuses
 * damaged ones with a {@link PackageFormatException}, and orders versions consistently. Extend it
 * with a way to build a real package file of the format.
 */
public abstract class PackageFormatContract {
    @TempDir
    protected Path tmp;

    protected abstract PackageFormat format();

    /** Builds a real package file named {@code name} at {@code version} in {@code dir}. */
    protected abstract Path build(Path dir, String name, String version) throws Exception;

    /** Versions of this format in strictly ascending order. */
    protected abstract List<String> ascendingVersions();

    @Test
    void readsNameAndVersionFromARealFile() throws Exception {
        String version = ascendingVersions().get(1);
        Path file = build(tmp, "contract-pkg", version);
        assertTrue(format().recognizes(file));
        PackageMetadata m = format().inspect(file);
        assertEquals("contract-pkg", m.name());
        assertEquals(version, m.version());
    }

    @Test
    void refusesEveryTruncationOfARealFile() throws Exception {
        byte[] bytes = Files.readAllBytes(build(tmp, "contract-pkg", ascendingVersions().get(0)));
        for (int cut : new int[] {bytes.length / 8, bytes.length / 3, bytes.length / 2, bytes.length - 9}) {
            Path truncated = Files.write(tmp.resolve("cut-" + cut), Arrays.copyOf(bytes, cut));
            assertThrows(PackageFormatException.class, () -> format().inspect(truncated), "cut at " + cut + " of " + bytes.length);
        }
    }

    @Test
    void refusesWrongMagicAndGarbage() throws Exception {
        byte[] bytes = Files.readAllBytes(build(tmp, "contract-pkg", ascendingVersions().get(0)));
        byte[] wrong = bytes.clone();
        wrong[0] ^= 0x5a;
        Path wrongMagic = Files.write(tmp.resolve("wrong-magic"), wrong);
        assertFalse(format().recognizes(wrongMagic));
        assertThrows(PackageFormatException.class, () -> format().inspect(wrongMagic));

        byte[] garbage = new byte[64 * 1024];
        new Random(1).nextBytes(garbage);
        System.arraycopy(bytes, 0, garbage, 0, 8);
        Path noise = Files.write(tmp.resolve("noise"), garbage);
        assertThrows(PackageFormatException.class, () -> format().inspect(noise));
    }

    @Test
    void versionOrderIsATotalOrderMatchingTheGivenSequence() {
        List<String> versions = ascendingVersions();
        for (int i = 0; i < versions.size(); i++) {
            for (int j = 0; j < versions.size(); j++) {
                int c = Integer.signum(format().versionOrder().compare(versions.get(i), versions.get(j)));
                assertEquals(Integer.signum(Integer.compare(i, j)), c, versions.get(i) + " vs " + versions.get(j));
            }
        }
    }

    @Test
    void aFailedQueryMeansNotInstalled() {
        assertNull(format().parseInstalled(1, ""));
    }
}
