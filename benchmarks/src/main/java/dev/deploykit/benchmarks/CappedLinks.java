package dev.deploykit.benchmarks;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Hosts on a capped network, made of this machine's kernel: a bridge ({@value #BRIDGE}, address
 * {@value #CONTROLLER_IP}, where the controller listens) and one network namespace per host, joined to
 * it by a veth pair. Every link is capped by a token-bucket qdisc ({@code tc qdisc ... tbf}): each
 * host's upload (its end of the veth) and download (the bridge's end), and the controller's upload (the
 * bridge device itself, which carries what this machine's own sockets send, not what the bridge
 * forwards between hosts). Needs root. Closing it deletes every namespace and the bridge.
 */
final class CappedLinks implements AutoCloseable {
    static final String BRIDGE = "dkrb0";
    static final String CONTROLLER_IP = "10.79.0.1";
    private static final int MAX_HOSTS = 250;

    private final int hosts;

    private CappedLinks(int hosts) {
        this.hosts = hosts;
    }

    /** {@code hosts} namespaces, every link capped at {@code mibPerSecond}; what an earlier run left is removed first. */
    static CappedLinks create(int hosts, int mibPerSecond) throws IOException, InterruptedException {
        if (hosts > MAX_HOSTS) {
            throw new IllegalArgumentException("at most " + MAX_HOSTS + " hosts on one bridge, not " + hosts);
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("capped links need root (network namespaces, veth pairs and tc qdiscs); run the benchmark as root");
        }
        removeLeftovers();
        CappedLinks links = new CappedLinks(hosts);
        run("ip", "link", "add", BRIDGE, "type", "bridge");
        run("ip", "addr", "add", CONTROLLER_IP + "/24", "dev", BRIDGE);
        run("ip", "link", "set", BRIDGE, "up");
        cap(List.of(), BRIDGE, mibPerSecond);
        for (int i = 0; i < hosts; i++) {
            String ns = namespace(i);
            String veth = "dkrbv" + i;
            run("ip", "netns", "add", ns);
            run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns);
            run("ip", "link", "set", veth, "master", BRIDGE, "up");
            run("ip", "-n", ns, "addr", "add", ip(i) + "/24", "dev", "eth0");
            run("ip", "-n", ns, "link", "set", "eth0", "up");
            run("ip", "-n", ns, "link", "set", "lo", "up");
            cap(List.of(), veth, mibPerSecond);
            cap(List.of("-n", ns), "eth0", mibPerSecond);
        }
        return links;
    }

    /** The address of host {@code i} (0-based). */
    static String ip(int i) {
        return "10.79.0." + (i + 2);
    }

    /** The argv prefix that runs a command on host {@code i}. */
    static List<String> on(int i) {
        return List.of("ip", "netns", "exec", namespace(i));
    }

    private static String namespace(int i) {
        return "dkrb" + i;
    }

    /**
     * A token bucket at {@code mibPerSecond} on {@code dev}'s egress. The bucket holds at least
     * 20 ms of traffic and 256 KiB (veth hands over segments of up to 64 KiB), and the queue at most
     * 100 ms of it, so TCP sees the cap as a slower link, not as loss.
     */
    private static void cap(List<String> netns, String dev, int mibPerSecond) throws IOException, InterruptedException {
        long bytesPerSecond = (long) mibPerSecond << 20;
        long burst = Math.max(256 * 1024, bytesPerSecond / 50);
        List<String> cmd = new ArrayList<>(List.of("tc"));
        cmd.addAll(netns);
        cmd.addAll(List.of("qdisc", "add", "dev", dev, "root", "tbf", "rate", bytesPerSecond * 8 + "bit", "burst", Long.toString(burst),
                "latency", "100ms"));
        run(cmd.toArray(String[]::new));
    }

    @Override
    public void close() throws IOException, InterruptedException {
        for (int i = 0; i < hosts; i++) {
            runQuietly("ip", "netns", "delete", namespace(i));
        }
        runQuietly("ip", "link", "delete", BRIDGE);
    }

    private static void removeLeftovers() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        for (String line : out.split("\n")) {
            String name = line.split(" ")[0];
            if (name.matches("dkrb\\d+")) {
                runQuietly("ip", "netns", "delete", name);
            }
        }
        runQuietly("ip", "link", "delete", BRIDGE);
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
        }
    }

    private static void runQuietly(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        p.waitFor();
    }
}
