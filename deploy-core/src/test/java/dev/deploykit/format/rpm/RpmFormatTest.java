package dev.deploykit.format.rpm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.PackageFormatException;
import dev.deploykit.PackageMetadata;
import dev.deploykit.spi.PackageFormat;
import dev.deploykit.spi.PackageFormatContract;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class RpmFormatTest extends PackageFormatContract {
    @Override
    protected PackageFormat format() {
        return RpmFormat.create();
    }

    @Override
    protected Path build(Path dir, String name, String version) throws Exception {
        return RpmPackages.build(dir, name, version);
    }

    @Override
    protected List<String> ascendingVersions() {
        return List.of("1.0~rc1-1", "1.0-1", "1.0-2", "1.0^git1-1", "1.0a-1", "1.10-1", "1:0.1-1");
    }

    @Test
    void readsTagsFromTheHeader() throws Exception {
        PackageMetadata m = format().inspect(RpmPackages.build(tmp, "hello-dk", "2:3.1-4"));
        assertEquals("hello-dk", m.name());
        assertEquals("2:3.1-4", m.version());
        assertEquals("DeployKit test package", m.description());
        assertEquals("noarch", m.fields().get("Arch"));
        assertEquals("MIT", m.fields().get("License"));
    }

    /** Offset of the main header: after the 96-byte lead and the 8-aligned signature header. */
    private static int mainHeaderOffset(byte[] rpm) {
        ByteBuffer b = ByteBuffer.wrap(rpm);
        int tags = b.getInt(96 + 8);
        int data = b.getInt(96 + 12);
        int sig = 16 + tags * 16 + data;
        return 96 + sig + (8 - sig % 8) % 8;
    }

    @Test
    void refusesAbsurdHeaderLengthsWithoutAllocating() throws Exception {
        byte[] rpm = Files.readAllBytes(RpmPackages.build(tmp, "hello-dk", "1.0-1"));
        int header = mainHeaderOffset(rpm);
        byte[] hugeData = rpm.clone();
        ByteBuffer.wrap(hugeData).putInt(header + 12, 0x0ffffff0);
        Path a = Files.write(tmp.resolve("huge-data.rpm"), hugeData);
        assertTrue(assertThrows(PackageFormatException.class, () -> format().inspect(a)).getMessage().contains("file has only"));
        byte[] hugeTags = rpm.clone();
        ByteBuffer.wrap(hugeTags).putInt(header + 8, 0x7fffffff);
        Path b = Files.write(tmp.resolve("huge-tags.rpm"), hugeTags);
        assertTrue(assertThrows(PackageFormatException.class, () -> format().inspect(b)).getMessage().contains("tags"));
        byte[] hugeSig = rpm.clone();
        ByteBuffer.wrap(hugeSig).putInt(96 + 12, -1);
        Path c = Files.write(tmp.resolve("huge-sig.rpm"), hugeSig);
        assertThrows(PackageFormatException.class, () -> format().inspect(c));
    }

    @Test
    void refusesPathTraversalInTheFileList() throws Exception {
        byte[] rpm = Files.readAllBytes(RpmPackages.build(tmp, "hello-dk", "1.0-1"));
        String text = new String(rpm, StandardCharsets.ISO_8859_1);
        int at = text.indexOf("/opt/hello-dk/\0");
        assertTrue(at > 0, "DIRNAMES entry not found");
        byte[] evil = rpm.clone();
        byte[] replacement = "/../../../etc/".getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(replacement, 0, evil, at, replacement.length);
        Path file = Files.write(tmp.resolve("evil.rpm"), evil);
        PackageFormatException e = assertThrows(PackageFormatException.class, () -> format().inspect(file));
        assertTrue(e.getMessage().contains("'..'"), e.getMessage());
    }
}
