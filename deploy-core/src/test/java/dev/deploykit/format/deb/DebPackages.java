package dev.deploykit.format.deb;

import dev.deploykit.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/** Builds real .deb files with {@code dpkg-deb} for tests. */
public final class DebPackages {
    private DebPackages() {}

    /**
     * Builds {@code name_version_all.deb} in {@code dir}, installing {@code /opt/<name>/VERSION}. When
     * {@code postinst} is given it becomes the package's postinst script (a POSIX sh body).
     */
    public static Path build(Path dir, String name, String version, String compression, String postinst) throws Exception {
        return build(dir, name, version, compression, postinst, false);
    }

    /** As {@link #build}, with a conffile {@code /etc/<name>.conf} too (what purge removes and remove keeps). */
    public static Path withConffile(Path dir, String name, String version) throws Exception {
        return build(dir, name, version, "gzip", null, true);
    }

    private static Path build(Path dir, String name, String version, String compression, String postinst, boolean conffile) throws Exception {
        Path dpkgDeb = Requirements.tool("dpkg-deb", "to build real .deb files");
        Path tree = Files.createTempDirectory(dir, "deb-tree-");
        Path debian = Files.createDirectories(tree.resolve("DEBIAN"));
        Files.writeString(debian.resolve("control"), "Package: " + name + "\nVersion: " + version
                + "\nArchitecture: all\nMaintainer: DeployKit tests <tests@deploykit.dev>\nDescription: DeployKit test package\n"
                + " Installs a version file.\n");
        if (postinst != null) {
            Path script = debian.resolve("postinst");
            Files.writeString(script, "#!/bin/sh\n" + postinst + "\n");
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        if (conffile) {
            Files.writeString(Files.createDirectories(tree.resolve("etc")).resolve(name + ".conf"), "setting=1\n");
            Files.writeString(debian.resolve("conffiles"), "/etc/" + name + ".conf\n");
        }
        Path opt = Files.createDirectories(tree.resolve("opt").resolve(name));
        Files.writeString(opt.resolve("VERSION"), version + "\n");
        Path out = dir.resolve(name + "_" + version.replace(':', '%') + "_all.deb");
        Process p = new ProcessBuilder(dpkgDeb.toString(), "--root-owner-group", "-Z" + compression, "--build", tree.toString(), out.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("dpkg-deb failed: " + log);
        }
        return out;
    }

    /** Creates an empty dpkg database under {@code root} (what dpkg needs before its first install there). */
    public static Path emptyDatabase(Path root) throws Exception {
        for (String d : java.util.List.of("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/log")) {
            Files.createDirectories(root.resolve(d));
        }
        for (String f : java.util.List.of("var/lib/dpkg/status", "var/lib/dpkg/available")) {
            if (!Files.exists(root.resolve(f))) {
                Files.createFile(root.resolve(f));
            }
        }
        return root;
    }

    /** Runs dpkg into {@code root} by hand, as an operator on the node would ({@code --install x.deb}, {@code --remove name}). */
    public static void dpkg(Path root, String... args) throws Exception {
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("dpkg", "--root=" + root,
                "--force-script-chrootless", "--force-not-root", "--log=" + root.resolve("var/log/dpkg.log")));
        argv.addAll(java.util.List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", argv) + " failed: " + out);
        }
    }
}
