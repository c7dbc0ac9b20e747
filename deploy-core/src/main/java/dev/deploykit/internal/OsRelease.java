package dev.deploykit.internal;

import dev.deploykit.Facts;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Parses {@code /etc/os-release} into {@link Facts}, mapping the distribution to a package family:
 * {@code ID_LIKE} first (it names the parent distribution), then {@code ID}. Debian, Ubuntu, Kylin
 * desktop, UOS/deepin map to {@code deb}; the RHEL family, openEuler, Anolis, SUSE to {@code rpm}.
 * Kylin uses {@code ID=kylin} for both its deb-based desktop and its rpm-based "Kylin Linux Advanced
 * Server", so for Kylin the {@code NAME} decides.
 */
public final class OsRelease {
    private static final Set<String> DEB = Set.of("debian", "ubuntu", "uos", "deepin", "linuxmint", "raspbian");
    private static final Set<String> RPM = Set.of("rhel", "centos", "fedora", "rocky", "almalinux", "openeuler",
            "anolis", "ol", "amzn", "suse", "opensuse", "sles", "kylinsec", "euleros");

    private OsRelease() {}

    public static Facts parse(String text, String arch) {
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

    static String family(String id, List<String> idLike, String name) {
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

    /** The JVM's {@code os.arch} in the names package tools use ({@code x86_64}, {@code aarch64}). */
    public static String jvmArch() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64" -> "x86_64";
            case "arm64" -> "aarch64";
            default -> arch;
        };
    }

    private static String unquote(String v) {
        if (v.length() >= 2 && (v.charAt(0) == '"' || v.charAt(0) == '\'') && v.charAt(v.length() - 1) == v.charAt(0)) {
            return v.substring(1, v.length() - 1);
        }
        return v;
    }
}
