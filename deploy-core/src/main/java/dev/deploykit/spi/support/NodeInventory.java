package dev.deploykit.spi.support;

import dev.deploykit.Command;
import dev.deploykit.ServiceStatus;
import dev.deploykit.version.DebianVersions;
import dev.deploykit.version.RpmVersions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Everything installed on a node, in one command: the packages of the node's own package managers
 * (dpkg's database, rpm's) and DeployKit's script bundles. The agent runs it locally when its
 * package database changes; agentless transports run it to poll. Versions are the package manager's
 * own strings, the same ones {@code DebFormat} and {@code RpmFormat} read for one package, so an
 * inventory filled from a listing and one filled by deployments agree.
 *
 * <p>Only installed packages count: for dpkg a package whose status is {@code installed} (a removed
 * package with its configuration files left, {@code rc}, is not installed). Architectures are
 * listed but not kept: dpkg requires every co-installed architecture of a {@code Multi-Arch: same}
 * package to have one version, and for rpm's several versions of one name (kernels) the highest is
 * kept, as {@code RpmFormat} does. Stateless and thread-safe.
 */
public final class NodeInventory {
    /** Format names, as {@code PackageFormat.name()} has them. */
    public static final String DEB = "deb";
    public static final String RPM = "rpm";
    public static final String SCRIPT = "script";

    private static final String SCRIPT_BODY = """
            r="$1"; a=""; q=""
            if [ "$r" != / ]; then a="--admindir=$r/var/lib/dpkg"; q="--root $r --dbpath /var/lib/rpm"; fi
            if [ -f "$r/var/lib/dpkg/status" ] && command -v dpkg-query >/dev/null 2>&1; then
              echo '#deb'
              dpkg-query $a -W -f '${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n' || exit 3
            fi
            if { [ -d "$r/var/lib/rpm" ] || [ -d "$r/usr/lib/sysimage/rpm" ]; } && command -v rpm >/dev/null 2>&1; then
              echo '#rpm'
              rpm $q -qa --qf '%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{ARCH}\\tii \\n' || exit 4
            fi
            echo '#script'
            for d in "$r"/var/lib/deploykit/bundles/*; do
              if [ -L "$d/current" ]; then printf '%s\\t%s\\t\\tii \\n' "${d##*/}" "$(readlink "$d/current")"; fi
            done
            """ + NodeServices.STATUS;
    private static final String SERVICES = "service";

    private NodeInventory() {}

    /** What a node has installed: name to version, the formats the listing covered, and its services. */
    public record Listing(Map<String, String> packages, Set<String> formats, List<ServiceStatus> services) {
        public Listing {
            packages = Map.copyOf(packages);
            services = List.copyOf(services);
            // sorted, so that reports and logs name them in one order
            formats = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(formats));
        }
    }

    /** The one command that lists a node's inventory under {@code root} ("/" on a real node). */
    public static Command command(String root) {
        return Command.shell(SCRIPT_BODY, root).withEnv(Map.of("LC_ALL", "C"));
    }

    /** Parses {@link #command}'s standard output. */
    public static Listing parse(String stdout) {
        Map<String, String> packages = new TreeMap<>();
        Set<String> formats = new TreeSet<>();
        List<String[]> services = new ArrayList<>();
        String format = null;
        for (String line : stdout.split("\n")) {
            if (line.startsWith("#")) {
                format = line.substring(1).trim();
                if (!format.equals(SERVICES)) {
                    formats.add(format);
                }
                continue;
            }
            String[] f = line.split("\t", -1);
            if (SERVICES.equals(format)) {
                services.add(f);
                continue;
            }
            if (format == null || f.length < 4 || f[0].isEmpty() || f[1].isEmpty() || f[3].length() < 2 || f[3].charAt(1) != 'i') {
                continue;
            }
            Comparator<String> order = format.equals(RPM) ? RpmVersions.ORDER : DebianVersions.ORDER;
            packages.merge(f[0], f[1], (a, b) -> order.compare(a, b) >= 0 ? a : b);
        }
        return new Listing(packages, formats, NodeServices.parseAll(services));
    }

    /** The files and directories whose change means the listing may have changed. */
    public static List<Path> watched(Path root) {
        return List.of(root.resolve("var/lib/dpkg/status"), root.resolve("var/lib/rpm"), root.resolve("usr/lib/sysimage/rpm"),
                root.resolve("var/lib/deploykit/bundles"), root.resolve(NodeServices.STATE_DIR.substring(1)));
    }

    /**
     * A cheap fingerprint of {@link #watched}: size, modification time and file key of each file, and
     * of each directory's direct entries. Equal stamps mean nothing needs listing again; it costs a few
     * {@code stat} calls, never a process.
     */
    public static String stamp(Path root) {
        StringBuilder stamp = new StringBuilder();
        for (Path p : watched(root)) {
            stamp.append(attributes(p)).append(';');
            if (Files.isDirectory(p)) {
                try (var entries = Files.list(p)) {
                    entries.sorted().forEach(e -> stamp.append(e.getFileName()).append('=').append(attributes(e))
                            .append(attributes(e.resolve("current"))).append(service(e)).append(','));
                } catch (IOException e) {
                    stamp.append("unreadable");
                }
            }
        }
        return stamp.toString();
    }

    /** For a service's state directory: its pid file, its exit file, and whether its first process is alive. */
    private static String service(Path dir) {
        Path pid = dir.resolve("pid");
        if (!Files.isRegularFile(pid)) {
            return "";
        }
        try {
            return attributes(pid) + attributes(dir.resolve("exit")) + Files.isDirectory(Path.of("/proc", Files.readString(pid).trim()));
        } catch (IOException | java.nio.file.InvalidPathException e) {
            return "?";
        }
    }

    private static String attributes(Path p) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return a.size() + "/" + a.lastModifiedTime().toMillis() + "/" + a.fileKey();
        } catch (IOException e) {
            return "-";
        }
    }

    /** Runs {@link #command} on this machine (what the agent does). */
    public static Listing listLocally(String root) throws IOException, InterruptedException {
        Command c = command(root);
        List<String> argv = new ArrayList<>(c.argv());
        ProcessBuilder pb = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(c.env());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        int exit = p.waitFor();
        if (exit != 0) {
            throw new IOException("listing the packages under " + root + " failed with exit code " + exit);
        }
        return parse(out);
    }
}
