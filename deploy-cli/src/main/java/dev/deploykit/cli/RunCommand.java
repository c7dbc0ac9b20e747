package dev.deploykit.cli;

import dev.deploykit.Action;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.plan.PlanFile;
import dev.deploykit.plan.PlanFiles;
import dev.deploykit.transport.ssh.SshTransport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * Console mode: {@code deploykit run plan.yaml --inventory hosts.yaml}. An embedded controller with
 * an in-memory store and the SSH transport, and no server: the inventory's servers and groups are
 * registered, the {@code --publish} files published, the plan started and its progress printed as in
 * server mode, until it ends. Nothing is kept afterwards but what the deployment did on the hosts.
 * Ctrl-C cancels the deployment (running steps are killed on the hosts) before the process exits.
 */
@Command(name = "run", description = {"Console mode: deploys a plan over SSH to the hosts of an inventory file, with no server.",
        "Exits with the code for how the deployment ended."})
final class RunCommand implements Callable<Integer> {
    @ParentCommand
    DeployKitCli cli;

    @Parameters(paramLabel = "PLAN", description = "the plan file (docs/plan-files.md)")
    Path plan;

    @Option(names = "--inventory", required = true, paramLabel = "FILE", description = "the hosts and groups (YAML, see docs/cli.md)")
    Path inventory;

    @Option(names = "--publish", paramLabel = "FILE", description = "a package file the plan installs (.deb, .rpm, script bundle); repeatable")
    List<Path> publish = new ArrayList<>();

    @Option(names = "--known-hosts", paramLabel = "FILE", description = "OpenSSH known_hosts to check host keys against (default: ~/.ssh/known_hosts)")
    Path knownHosts;

    @Option(names = "--identity", paramLabel = "KEY", description = "private key to log in with; repeatable (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa)")
    List<Path> identities = new ArrayList<>();

    @Option(names = "--accept-new-host-keys", description = "trust a host key known_hosts does not have yet, and record it (a changed key is still refused)")
    boolean acceptNewHostKeys;

    @Override
    public Integer call() throws Exception {
        if (cli.server != null) {
            throw new CliException(ExitCode.BAD_INPUT, "run is console mode, with no server: drop --server (use 'plan apply' against a server)");
        }
        Inventory hosts = Inventory.read(inventory);
        PlanFile file = PlanFiles.load(plan);
        if (acceptNewHostKeys) {
            cli.err.println("deploykit: warning: --accept-new-host-keys: a host key seen for the first time is trusted without a check");
        }
        SshTransport.Builder ssh = SshTransport.builder().trustOnFirstUse(acceptNewHostKeys);
        if (knownHosts != null) {
            ssh.knownHosts(knownHosts);
        }
        identities.forEach(ssh::identity);
        Path artifacts = Files.createTempDirectory("deploykit-run-");
        try (DeployKit kit = DeployKit.builder().transport(ssh.build()).artifactDir(artifacts).build()) {
            hosts.register(kit);
            for (Path p : publish) {
                dev.deploykit.Package pkg = kit.packages().publish(p);
                if (!cli.json()) {
                    cli.out.println("published " + pkg.name() + " " + pkg.version() + " (" + pkg.format() + ", "
                            + Progress.bytes(pkg.artifact().size()) + ")");
                }
            }
            long bytes = file.plan().action() instanceof Action.Install i
                    ? kit.packages().get(i.packageName(), i.version()).map(p -> p.artifact().size()).orElse(-1L) : -1;
            Progress progress = new Progress(cli.out, cli.json(), bytes);
            Deployment d = file.start(kit);
            return ExitCode.of(follow(d, progress)).code();
        } finally {
            delete(artifacts);
        }
    }

    /** Prints every event of {@code d} until its last and returns the status it ended with; a JVM shutdown cancels it first. */
    private static DeploymentStatus follow(Deployment d, Progress progress) throws Exception {
        CompletableFuture<DeploymentStatus> ended = new CompletableFuture<>();
        Thread cancel = new Thread(() -> {
            if (!d.status().isTerminal()) {
                d.cancel();
                try {
                    d.await(Duration.ofSeconds(30));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "deploykit-cancel-on-exit");
        Runtime.getRuntime().addShutdownHook(cancel);
        AutoCloseable listening = d.onEvent(e -> {
            progress.accept(e);
            if (e instanceof DeployEvent.DeploymentStatusChanged s && s.status().isTerminal()) {
                ended.complete(s.status());
            }
        });
        try {
            return ended.get();
        } finally {
            listening.close();
            try {
                Runtime.getRuntime().removeShutdownHook(cancel);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it cancelled the deployment we just saw end
            }
        }
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
