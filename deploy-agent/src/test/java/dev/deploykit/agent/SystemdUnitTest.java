package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.deploykit.Requirements;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's systemd unit ({@code systemd/deploykit-agent.service}, shipped in both packages) is
 * sandboxed as far as the agent's work allows, and no further: a later edit that weakens the
 * sandbox raises systemd's own exposure score and fails here, and one that "hardens" it with an
 * option that breaks package installs or the applications steps start fails here too.
 */
class SystemdUnitTest {
    /**
     * {@code systemd-analyze security --offline=yes} of the unit as committed (systemd 252): 9.5
     * before its sandbox, 8.6 with it and ProtectHome=read-only, 8.7 with /home and /root writable.
     */
    static final double MAX_EXPOSURE = 8.7;

    /**
     * The checks of systemd-analyze the unit passes. The score is rounded to a tenth, so one option
     * less may not move it; this list catches that.
     */
    static final List<String> PASSED = List.of(
            "ProtectKernelLogs=", "CapabilityBoundingSet=~CAP_SYSLOG", "LockPersonality=", "RestrictRealtime=",
            "SystemCallArchitectures=", "RestrictAddressFamilies=~\u2026", "SystemCallFilter=~@obsolete",
            "SystemCallFilter=~@cpu-emulation", "UMask=", "KeyringMode=", "NotifyAccess=", "Delegate=", "AmbientCapabilities=");

    static final Path UNIT = Path.of("systemd", "deploykit-agent.service");

    @TempDir
    Path dir;

    @Test
    void systemdAnalyzeScoresTheUnitNoWorseThanItsSandboxReached() throws Exception {
        Path analyze = Requirements.tool("systemd-analyze", "to rate the agent unit's sandbox (systemd 250 or later: --offline)");
        // A root of its own, holding only this unit: no drop-in of this machine can change the answer.
        Path units = Files.createDirectories(dir.resolve("usr/lib/systemd/system"));
        Files.copy(UNIT, units.resolve("deploykit-agent.service"));
        ProcessBuilder pb = new ProcessBuilder(analyze.toString(), "security", "--offline=yes", "--root=" + dir,
                "deploykit-agent.service").redirectErrorStream(true);
        pb.environment().put("SYSTEMD_COLORS", "0");
        pb.environment().put("SYSTEMD_PAGER", "");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "systemd-analyze security did not end");
        assertEquals(0, p.exitValue(), out);
        Matcher score = Pattern.compile("Overall exposure level for deploykit-agent\\.service: (\\d+\\.\\d+)").matcher(out);
        assertTrue(score.find(), out);
        double exposure = Double.parseDouble(score.group(1));
        assertTrue(exposure <= MAX_EXPOSURE, "the unit's exposure rose from " + MAX_EXPOSURE + " to " + exposure
                + ": an edit weakened its sandbox (docs/agent.md, \"Sandboxing\"):\n" + out);
        // a check passed is marked with a check mark, or with + where the locale has no such glyph
        List<String> passed = Pattern.compile("(?m)^(?:\u2713|\\+) (\\S+)").matcher(out).results().map(m -> m.group(1)).toList();
        List<String> lost = PASSED.stream().filter(check -> !passed.contains(check)).toList();
        assertTrue(lost.isEmpty(), "the unit no longer passes " + lost + ": an edit weakened its sandbox:\n" + out);
    }

    @Test
    void theUnitLeavesOpenWhatPackageInstallsAndTheServicesStepsStartNeed() throws IOException {
        Map<String, String> service = serviceSettings(Files.readAllLines(UNIT));
        // Each of these would be inherited by dpkg, rpm, their scripts and what steps start (docs/agent.md).
        Map<String, String> mustStayOff = new LinkedHashMap<>();
        mustStayOff.put("ProtectSystem", "dpkg, rpm, apt and dnf write /usr, /etc, /boot, /opt and /var");
        mustStayOff.put("ProtectKernelModules", "kernel and driver packages write /lib/modules and run modprobe");
        mustStayOff.put("ProtectKernelTunables", "package scripts run sysctl and udevadm trigger writes /sys");
        mustStayOff.put("ProtectControlGroups", "each step gets a cgroup of its own under /sys/fs/cgroup");
        mustStayOff.put("ProtectClock", "steps set the clock; older systemd closes every other device with it");
        mustStayOff.put("ProtectHome", "steps and package scripts run useradd -m and write root's home");
        mustStayOff.put("PrivateTmp", "services steps start share /tmp with the host");
        mustStayOff.put("PrivateMounts", "what steps mount must be mounted on the host");
        mustStayOff.put("PrivateDevices", "steps partition, format and mount disks");
        mustStayOff.put("ProtectHostname", "a step that renames the node renames the host");
        mustStayOff.put("ProtectProc", "services steps start see the host's processes");
        mustStayOff.put("ProcSubset", "package scripts read /proc/sys and /proc/cmdline");
        mustStayOff.put("RestrictNamespaces", "steps run podman, unshare and ip netns");
        mustStayOff.put("RestrictSUIDSGID", "packages install setuid programs such as sudo");
        mustStayOff.put("NoNewPrivileges", "steps use sudo and setuid programs");
        mustStayOff.put("CapabilityBoundingSet", "package scripts and steps need root's capabilities");
        mustStayOff.put("MemoryDenyWriteExecute", "the JVM's JIT writes the code it runs");
        mustStayOff.put("PrivateNetwork", "the agent dials its controllers");
        mustStayOff.put("IPAddressDeny", "steps fetch from anywhere");
        mustStayOff.put("DevicePolicy", "steps use disks and other devices");
        mustStayOff.put("DeviceAllow", "any allow list closes every other device");
        List<String> wrong = new ArrayList<>();
        mustStayOff.forEach((key, why) -> {
            String value = service.get(key);
            if (value != null && !List.of("no", "false", "off", "0", "").contains(value)) {
                wrong.add(key + "=" + value + " (" + why + ")");
            }
        });
        if (!wrong.isEmpty()) {
            fail("the unit restricts what the agent must do: " + String.join("; ", wrong));
        }
        assertEquals("root", service.get("User"), "dpkg and rpm need root");
        assertEquals("process", service.get("KillMode"), "services steps start outlive an agent restart");
        String families = service.getOrDefault("RestrictAddressFamilies", "");
        for (String family : List.of("AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET")) {
            assertTrue(List.of(families.split("\\s+")).contains(family), family + " must stay allowed: " + families);
        }
    }

    /** The last value of each key in [Service] (where a key repeats, systemd uses the last for these). */
    private static Map<String, String> serviceSettings(List<String> lines) {
        Map<String, String> settings = new LinkedHashMap<>();
        String section = "";
        for (String line : lines) {
            String l = line.strip();
            if (l.startsWith("[")) {
                section = l;
            } else if (section.equals("[Service]") && !l.startsWith("#") && l.contains("=")) {
                settings.put(l.substring(0, l.indexOf('=')).strip(), l.substring(l.indexOf('=') + 1).strip());
            }
        }
        return settings;
    }
}
