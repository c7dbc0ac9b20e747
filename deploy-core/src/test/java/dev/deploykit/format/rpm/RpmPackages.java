package dev.deploykit.format.rpm;

import dev.deploykit.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Builds real .rpm files with {@code rpmbuild} for tests. */
public final class RpmPackages {
    private RpmPackages() {}

    /** Builds {@code name} at {@code evr} ({@code [epoch:]version-release}), installing {@code /opt/<name>/VERSION}. */
    public static Path build(Path dir, String name, String evr) throws Exception {
        Path rpmbuild = Requirements.tool("rpmbuild", "to build real .rpm files");
        String epoch = evr.contains(":") ? evr.substring(0, evr.indexOf(':')) : null;
        String vr = epoch == null ? evr : evr.substring(evr.indexOf(':') + 1);
        String version = vr.substring(0, vr.lastIndexOf('-'));
        String release = vr.substring(vr.lastIndexOf('-') + 1);
        Path top = Files.createTempDirectory(dir, "rpm-top-");
        Path spec = Files.createDirectories(top.resolve("SPECS")).resolve(name + ".spec");
        Files.writeString(spec, "Name: " + name + "\n" + (epoch == null ? "" : "Epoch: " + epoch + "\n")
                + "Version: " + version + "\nRelease: " + release + "\nSummary: DeployKit test package\nLicense: MIT\n"
                + "BuildArch: noarch\n%description\nInstalls a version file.\n"
                + "%install\nmkdir -p %{buildroot}/opt/" + name + "\necho " + evr + " > %{buildroot}/opt/" + name + "/VERSION\n"
                + "%files\n/opt/" + name + "/VERSION\n");
        Process p = new ProcessBuilder(rpmbuild.toString(), "--define", "_topdir " + top, "--define", "_build_id_links none",
                "-bb", spec.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("rpmbuild failed: " + log);
        }
        try (Stream<Path> files = Files.walk(top.resolve("RPMS"))) {
            Path built = files.filter(f -> f.toString().endsWith(".rpm")).findFirst().orElseThrow();
            return Files.move(built, dir.resolve(built.getFileName()));
        }
    }
}
