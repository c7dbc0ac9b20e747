package dev.deploykit.store.postgres;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.transport.grpc.AgentGateway;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A controller process for restart tests: PostgreSQL store plus an agent gateway with mutual TLS on
 * a fixed loopback port. With {@code --start N} it waits for N agents (connected here or to another
 * controller on the same database) and starts a rollout whose
 * step appends a line to {@code counter} in each node's root and sleeps; without it, it only serves
 * (and resumes what the database says is unfinished).
 *
 * <p>Args: {@code --url U --user U --password P --schema S --port P --ca F --cert F --key F --token T
 * --artifacts DIR [--start N] [--step-seconds S] [--lease-ms MILLIS] [--id CONTROLLER_ID]}.
 */
public final class ControllerMain {
    public static void main(String[] args) throws Exception {
        PostgresStore store = PostgresStore.builder(arg(args, "--url")).user(arg(args, "--user")).password(arg(args, "--password"))
                .schema(arg(args, "--schema")).lease(Duration.ofMillis(Long.parseLong(optional(args, "--lease-ms", "15000"))))
                .controllerId(optional(args, "--id", "controller-" + ProcessHandle.current().pid())).build();
        AgentGateway gateway = AgentGateway.builder().host("127.0.0.1").port(Integer.parseInt(arg(args, "--port")))
                .tls(Path.of(arg(args, "--cert")), Path.of(arg(args, "--key"))).clientCa(Path.of(arg(args, "--ca")))
                .token(arg(args, "--token")).heartbeat(Duration.ofSeconds(1)).reconnectGrace(Duration.ofSeconds(90)).build();
        DeployKit kit = DeployKit.builder().store(store).transport(gateway.transport()).artifactDir(Path.of(arg(args, "--artifacts"))).build();
        gateway.start(kit.servers());
        System.out.println("controller up on " + gateway.port());
        String start = optional(args, "--start", null);
        if (start != null) {
            int agents = Integer.parseInt(start);
            // registered by any controller on the database: some agents may be connected to another one
            while (kit.servers().list().size() < agents) {
                Thread.sleep(100);
            }
            Deployment d = kit.start(DeployPlan.builder()
                    .action(Action.runScripts(ScriptSet.of("slow", Script.of("count", Command.shell("echo run >> counter; i=0; "
                            // a line a second: each is an event the owner appends, so a stale owner notices at once
                            + "while [ $i -lt \"$1\" ]; do echo tick $i; sleep 1; i=$((i+1)); done",
                            optional(args, "--step-seconds", "3"))))))
                    .targetSelector("role=app").batch(BatchSize.count(1)).build());
            System.out.println("started " + d.id());
        }
        Thread.currentThread().join();
    }

    private static String arg(String[] args, String name) {
        String v = optional(args, name, null);
        if (v == null) {
            throw new IllegalArgumentException(name + " is required");
        }
        return v;
    }

    private static String optional(String[] args, String name, String otherwise) {
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return otherwise;
    }
}
