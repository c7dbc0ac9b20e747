package dev.deploykit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What a node reported about itself: {@code /etc/os-release} ID, VERSION_ID and ID_LIKE, the CPU
 * architecture, and the package family ({@code deb}, {@code rpm}, or {@code unknown}).
 *
 * <p>Transports build facts with {@link #parseOsRelease(String, String)}; a transport whose node is
 * a directory on this machine (a local root, an agent's install root) finds its file with
 * {@link #osReleaseFile(Path)}.
 */
public record Facts(String osId, String osVersion, List<String> idLike, String arch, String packageFamily) {
    public static final Facts UNKNOWN = new Facts("unknown", "", List.of(), "unknown", "unknown");
    private static final Set<String> DEB = Set.of("debian", "ubuntu", "uos", "deepin", "linuxmint", "raspbian");
    private static final Set<String> RPM = Set.of("rhel", "centos", "fedora", "rocky", "almalinux", "openeuler",
            "anolis", "ol", "amzn", "suse", "opensuse", "sles", "kylinsec", "euleros");

    public Facts {
        idLike = List.copyOf(idLike);
    }

    /**
     * Parses the text of an {@code os-release} file, mapping the distribution to a package family:
     * {@code ID_LIKE} first (it names the parent distribution), then {@code ID}. Debian, Ubuntu, Kylin
     * desktop, UOS/deepin map to {@code deb}; the RHEL family, openEuler, Anolis, SUSE to {@code rpm}.
     * Kylin uses {@code ID=kylin} for both its deb-based desktop and its rpm-based "Kylin Linux
     * Advanced Server", so for Kylin the {@code NAME} decides.
     *
     * <pre>{@code
     * Facts f = Facts.parseOsRelease("ID=openEuler\nVERSION_ID=\"22.03\"\n", "aarch64");
     * f.packageFamily();   // "rpm"
     * }</pre>
     *
     * @param text the file's contents; unknown or missing keys are tolerated
     * @param arch the CPU architecture in package-tool names ({@code x86_64}, {@code aarch64})
     */
    public static Facts parseOsRelease(String text, String arch) {
        Map<String, String> values = new HashMap<>();
        for (String line : text.split("\n")) {
            String trimmed = line.trim();
            int eq = trimmed.indexOf('=');
            if (trimmed.startsWith("#") || eq <= 0) {
                continue;
            }
            values.put(trimmed.substring(0, eq), unquote(trimmed.substring(eq + 1).trim()));
        }
        String id = values.getOrDefault("ID", "linux").toLowerCase(Locale.ROOT);
        List<String> idLike = Arrays.stream(values.getOrDefault("ID_LIKE", "").toLowerCase(Locale.ROOT).split("\\s+"))
                .filter(s -> !s.isEmpty()).toList();
        return new Facts(id, values.getOrDefault("VERSION_ID", ""), idLike, arch, family(id, idLike, values.getOrDefault("NAME", "")));
    }

    /**
     * The {@code os-release} file that describes a node whose files live under {@code root}:
     * {@code <root>/etc/os-release} when that root has its own, else this machine's
     * {@code /etc/os-release}.
     */
    public static Path osReleaseFile(Path root) {
        Path own = root.resolve("etc/os-release");
        return Files.isRegularFile(own) ? own : Path.of("/etc/os-release");
    }

    /**
     * The facts of a node rooted at {@code root} on this machine: its {@linkplain #osReleaseFile(Path)
     * os-release file} and this JVM's architecture; {@link #UNKNOWN} when the file cannot be read.
     */
    public static Facts ofLocalRoot(Path root) {
        try {
            return parseOsRelease(Files.readString(osReleaseFile(root)), jvmArch());
        } catch (IOException e) {
            return UNKNOWN;
        }
    }

    /** This JVM's {@code os.arch} in the names package tools use ({@code x86_64}, {@code aarch64}). */
    public static String jvmArch() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64" -> "x86_64";
            case "arm64" -> "aarch64";
            default -> arch;
        };
    }

    private static String family(String id, List<String> idLike, String name) {
        for (String like : idLike) {
            if (DEB.contains(like)) {
                return "deb";
            }
            if (RPM.contains(like)) {
                return "rpm";
            }
        }
        if (id.equals("kylin")) {
            return name.contains("Advanced Server") ? "rpm" : "deb";
        }
        return DEB.contains(id) ? "deb" : RPM.contains(id) ? "rpm" : "unknown";
    }

    private static String unquote(String v) {
        if (v.length() >= 2 && (v.charAt(0) == '"' || v.charAt(0) == '\'') && v.charAt(v.length() - 1) == v.charAt(0)) {
            return v.substring(1, v.length() - 1);
        }
        return v;
    }
}
