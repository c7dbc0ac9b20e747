package dev.deploykit.format.deb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.PackageFormatException;
import dev.deploykit.PackageMetadata;
import dev.deploykit.spi.PackageFormat;
import dev.deploykit.spi.PackageFormatContract;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DebFormatTest extends PackageFormatContract {
    @Override
    protected PackageFormat format() {
        return DebFormat.create();
    }

    @Override
    protected Path build(Path dir, String name, String version) throws Exception {
        return DebPackages.build(dir, name, version, "xz", null);
    }

    @Override
    protected List<String> ascendingVersions() {
        return List.of("1.0~rc1-1", "1.0-1", "1.0-2", "1.0+b1-1", "1.10-1", "1:0.1-1");
    }

    @ParameterizedTest
    @ValueSource(strings = {"none", "gzip", "xz", "zstd"})
    void readsControlWithEveryCompression(String compression) throws Exception {
        Path file = DebPackages.build(tmp, "hello-dk", "2.0-1", compression, null);
        PackageMetadata m = format().inspect(file);
        assertEquals("hello-dk", m.name());
        assertEquals("2.0-1", m.version());
        assertEquals("DeployKit test package", m.description());
        assertEquals("all", m.fields().get("Architecture"));
    }

    /** An ar archive with the given members, written by hand. */
    private static byte[] ar(Object... namesAndData) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write("!<arch>\n".getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < namesAndData.length; i += 2) {
            byte[] data = (byte[]) namesAndData[i + 1];
            out.write(String.format("%-16s%-12s%-6s%-6s%-8s%-10s`\n", namesAndData[i], "0", "0", "0", "100644", data.length)
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(data);
            if (data.length % 2 == 1) {
                out.write('\n');
            }
        }
        return out.toByteArray();
    }

    private static byte[] tarGz(String name, String content) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(bytes))) {
            byte[] data = content.getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry(name, true);
            e.setSize(data.length);
            tar.putArchiveEntry(e);
            tar.write(data);
            tar.closeArchiveEntry();
        }
        return bytes.toByteArray();
    }

    @Test
    void refusesPathTraversalInThePayload() throws Exception {
        byte[] deb = ar("debian-binary", "2.0\n".getBytes(StandardCharsets.US_ASCII),
                "control.tar.gz", tarGz("./control", "Package: evil\nVersion: 1.0\nArchitecture: all\nDescription: x\n"),
                "data.tar.gz", tarGz("./../../etc/cron.d/evil", "* * * * * root id\n"));
        Path file = Files.write(tmp.resolve("evil.deb"), deb);
        PackageFormatException e = assertThrows(PackageFormatException.class, () -> format().inspect(file));
        assertTrue(e.getMessage().contains("'..'"), e.getMessage());
    }

    @Test
    void refusesAbsurdMemberSizesWithoutAllocating() throws Exception {
        byte[] deb = ar("debian-binary", "2.0\n".getBytes(StandardCharsets.US_ASCII));
        String header = String.format("%-16s%-12s%-6s%-6s%-8s%-10s`\n", "control.tar.gz", "0", "0", "0", "100644", "9999999999");
        byte[] withHuge = new byte[deb.length + 60 + 100];
        System.arraycopy(deb, 0, withHuge, 0, deb.length);
        System.arraycopy(header.getBytes(StandardCharsets.US_ASCII), 0, withHuge, deb.length, 60);
        Path file = Files.write(tmp.resolve("huge.deb"), withHuge);
        PackageFormatException e = assertThrows(PackageFormatException.class, () -> format().inspect(file));
        assertTrue(e.getMessage().contains("claims 9999999999 bytes"), e.getMessage());
    }

    @Test
    void refusesAControlFileWithoutPackageName() throws Exception {
        byte[] deb = ar("debian-binary", "2.0\n".getBytes(StandardCharsets.US_ASCII),
                "control.tar.gz", tarGz("./control", "Version: 1.0\n"),
                "data.tar.gz", tarGz("./usr/share/doc/x", "x"));
        Path file = Files.write(tmp.resolve("noname.deb"), deb);
        assertTrue(assertThrows(PackageFormatException.class, () -> format().inspect(file)).getMessage().contains("Package"));
    }
}
