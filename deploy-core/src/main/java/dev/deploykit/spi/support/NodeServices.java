package dev.deploykit.spi.support;

import dev.deploykit.ServiceStatus;
import dev.deploykit.spi.NodeContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Long-running services on a node: the commands that start and stop one, and the listing of their
 * states that {@link NodeInventory} reports. A service runs in a session and a cgroup of its own
 * ({@code deploykit-services/<name>} in the cgroup v2 hierarchy, or in each of v1's memory, cpu,
 * cpuacct, pids and systemd hierarchies), with optional memory and CPU limits, so it is not in the
 * cgroup of the agent or SSH session that started it and a restart, upgrade or crash of either
 * leaves it running. Where no hierarchy is writable it runs without one and the start says so.
 * State lives under {@code <root>/var/lib/deploykit/services/<name>}: {@code pid}, {@code log},
 * {@code exit} once it ended. Every command is plain POSIX shell with values as arguments, so the
 * agent and agentless transports run the same thing (the script bundle format calls them in its
 * install and remove commands). Stateless and thread-safe.
 */
public final class NodeServices {
    /** Where services keep their state on a node, under its install root. */
    public static final String STATE_DIR = "/var/lib/deploykit/services";
    private static final String CONTROL = resource("service.sh");
    private static final Pattern MEMORY = Pattern.compile("(\\d+)([KMG]?)(?:i?B)?", Pattern.CASE_INSENSITIVE);
    private static final Pattern CPU = Pattern.compile("(\\d+)m|(\\d+(?:\\.\\d{1,3})?)");

    /** The inventory listing's part for services: one line per service, as {@link #parse} reads them. */
    static final String STATUS = """
            echo '#service'
            fs=${DEPLOYKIT_CGROUP_FS:-/sys/fs/cgroup}
            for s in "$r"/var/lib/deploykit/services/*; do
              [ -f "$s/pid" ] || continue
              p=$(cat "$s/pid"); g=$(cat "$s/cgroup" 2>/dev/null); code=""; state=running
              if [ -f "$s/exit" ]; then state=exited; code=$(cat "$s/exit")
              elif ! tr '\\0' '\\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "DEPLOYKIT_SERVICE=$g"; then state=exited; fi
              mem=""; lim=""; cpu=""; oom=""
              if [ -f "$fs/cgroup.controllers" ] && ! [ -d "$fs/memory" ]; then
                c="$fs/deploykit-services/$g"
                mem=$(cat "$c/memory.current" 2>/dev/null); lim=$(cat "$c/memory.max" 2>/dev/null)
                cpu=$(sed -n 's/^usage_usec //p' "$c/cpu.stat" 2>/dev/null); oom=$(sed -n 's/^oom_kill //p' "$c/memory.events" 2>/dev/null)
              else
                c="$fs/memory/deploykit-services/$g"
                mem=$(cat "$c/memory.usage_in_bytes" 2>/dev/null); lim=$(cat "$c/memory.limit_in_bytes" 2>/dev/null)
                oom=$(sed -n 's/^oom_kill //p' "$c/memory.oom_control" 2>/dev/null)
                ns=$(cat "$fs/cpuacct/deploykit-services/$g/cpuacct.usage" 2>/dev/null) && cpu=$((ns / 1000))
              fi
              printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\tii \\n' "${s##*/}" "$state" "$p" "$code" "$mem" "$lim" "$cpu" "$oom"
            done
            """;

    private NodeServices() {}

    /**
     * Shell functions that control a service, for a command to define before it calls them (with
     * {@code set +e}; each returns non-zero on failure): {@code svc_init NAME STATE_DIR CGROUP}
     * ({@link #stateDir}, {@link #cgroupName}), then {@code svc_start BUNDLE_DIR MEMORY_BYTES
     * CPU_MILLIS} (stops the running one, SIGTERM then SIGKILL after 10 s, and runs
     * {@code scripts/service} from BUNDLE_DIR in the service's own session and cgroup; each limit
     * empty for none, see {@link Limits}) or {@code svc_stop} (nothing to do when it never ran; it
     * deletes its cgroups).
     */
    public static String functions() {
        return CONTROL;
    }

    /** The service's state directory on the node: {@code pid}, {@code log}, {@code exit}. */
    public static String stateDir(NodeContext node, String name) {
        return node.underRoot(STATE_DIR) + "/" + name;
    }

    /**
     * The leaf name of the service's cgroup: its name on a real node; with a test root, the name and
     * a hash of the root, so that two roots on one machine never share a cgroup.
     */
    public static String cgroupName(NodeContext node, String name) {
        return node.root().equals("/") ? name : name + "." + Integer.toHexString(node.root().replaceAll("/+$", "").hashCode());
    }

    /** Reads the service lines of a listing ({@link #STATUS}), tab-separated. */
    static ServiceStatus parse(String[] f) {
        ServiceStatus.State state = switch (f[1]) {
            case "running" -> ServiceStatus.State.RUNNING;
            default -> number(f[7]) > 0 ? ServiceStatus.State.OOM_KILLED : ServiceStatus.State.EXITED;
        };
        long limit = number(f[5]);
        // v1 writes "no limit" as the largest page-aligned value, v2 as "max"
        return new ServiceStatus(f[0], state, number(f[2]), f[3].isEmpty() ? null : (int) number(f[3]), number(f[4]),
                limit >= Long.MAX_VALUE / 2 ? -1 : limit, number(f[6]), Math.max(0, number(f[7])));
    }

    private static long number(String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * A service's resource limits: memory in bytes and CPU in thousandths of a core ({@code 500}: half
     * a core), each -1 for none.
     */
    public record Limits(long memoryBytes, int cpuMillis) {
        public static final Limits NONE = new Limits(-1, -1);

        /**
         * Limits from their written forms, each null or empty for none: memory as bytes with an
         * optional {@code K}, {@code M} or {@code G} (powers of 1024: {@code 64M}, {@code 1G}), CPU as
         * cores ({@code 0.5}, {@code 2}) or millicores ({@code 500m}).
         *
         * @throws IllegalArgumentException naming the value that is not one of those forms
         */
        public static Limits parse(String memory, String cpu) {
            long bytes = -1;
            if (memory != null && !memory.isBlank()) {
                Matcher m = MEMORY.matcher(memory.trim());
                if (!m.matches()) {
                    throw new IllegalArgumentException("memory limit '" + memory + "' is not a size such as 64M, 512K or 1G");
                }
                int shift = switch (m.group(2).toUpperCase(Locale.ROOT)) {
                    case "K" -> 10;
                    case "M" -> 20;
                    case "G" -> 30;
                    default -> 0;
                };
                bytes = Long.parseLong(m.group(1)) << shift;
                if (bytes < 1 << 20) {
                    throw new IllegalArgumentException("memory limit '" + memory + "' is below 1M, too little to start a process");
                }
            }
            int millis = -1;
            if (cpu != null && !cpu.isBlank()) {
                Matcher m = CPU.matcher(cpu.trim());
                if (!m.matches()) {
                    throw new IllegalArgumentException("CPU limit '" + cpu + "' is not cores (0.5, 2) or millicores (500m)");
                }
                millis = m.group(1) != null ? Integer.parseInt(m.group(1))
                        : new java.math.BigDecimal(m.group(2)).movePointRight(3).intValueExact();
                if (millis < 10) {
                    throw new IllegalArgumentException("CPU limit '" + cpu + "' is below 10m, the least a cgroup can give");
                }
            }
            return new Limits(bytes, millis);
        }
    }

    private static String resource(String name) {
        try (InputStream in = NodeServices.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from deploy-core's classes");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The services in a listing's lines after {@code #service}; used by {@link NodeInventory#parse}. */
    static List<ServiceStatus> parseAll(List<String[]> lines) {
        List<ServiceStatus> services = new ArrayList<>();
        for (String[] f : lines) {
            if (f.length >= 8 && !f[0].isEmpty()) {
                services.add(parse(f));
            }
        }
        return services;
    }
}
