package dev.deploykit;

/**
 * A long-running service on a node, as the node last reported it: a script bundle's
 * {@code scripts/service} (docs/services.md), run in a cgroup of its own with the bundle's limits.
 *
 * @param name          the service, named after its bundle
 * @param state         running, exited, or killed at its memory limit
 * @param pid           its first process on the node
 * @param exitCode      how it ended, when it ended and the node knows (null while running, or when its
 *                      first process was killed from outside)
 * @param memoryBytes   memory in use by its cgroup, -1 when unknown (no memory controller)
 * @param memoryLimit   its cgroup's memory limit in bytes, -1 for none
 * @param cpuMicros     CPU time its cgroup used, in microseconds; -1 when unknown
 * @param oomKills      how many of its processes the kernel killed at the memory limit
 */
public record ServiceStatus(String name, State state, long pid, Integer exitCode, long memoryBytes, long memoryLimit,
        long cpuMicros, long oomKills) {
    public ServiceStatus {
        Checks.notNull("service name", name);
        Checks.notNull("service state", state);
    }

    /** What a service is doing. */
    public enum State {
        RUNNING,
        EXITED,
        /** It ended after the kernel's OOM killer acted in its cgroup (it reached its memory limit). */
        OOM_KILLED
    }

    /** For logs: {@code shop running (pid 4121, 38.2 MiB of 64.0 MiB)}. */
    @Override
    public String toString() {
        String detail = "pid " + pid + (exitCode == null ? "" : ", exit " + exitCode)
                + (memoryBytes < 0 ? "" : ", " + mib(memoryBytes) + (memoryLimit < 0 ? "" : " of " + mib(memoryLimit)));
        return name + " " + state.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + " (" + detail + ")";
    }

    private static String mib(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
