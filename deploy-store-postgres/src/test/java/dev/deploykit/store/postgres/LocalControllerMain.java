package dev.deploykit.store.postgres;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Binding;
import dev.deploykit.Command;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.Server;
import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A controller process for shutdown tests: PostgreSQL store, three local nodes under {@code --dir},
 * a slow rolling deployment, and {@link DeployKit#closeOnShutdown()}.
 *
 * <p>Args: {@code --url U --user U --password P --schema S --dir DIR}.
 */
public final class LocalControllerMain {
    public static void main(String[] args) throws Exception {
        PostgresStore store = PostgresStore.builder(arg(args, "--url")).user(arg(args, "--user")).password(arg(args, "--password"))
                .schema(arg(args, "--schema")).lease(Duration.ofSeconds(30)).controllerId("terminated").build();
        Path dir = Path.of(arg(args, "--dir"));
        DeployKit kit = DeployKit.builder().store(store).transport(LocalTransport.create()).artifactDir(dir.resolve("artifacts"))
                .build().closeOnShutdown();
        for (String id : new String[] {"n1", "n2", "n3"}) {
            kit.servers().register(Server.of(id, Binding.local(Files.createDirectories(dir.resolve(id))), Map.of()));
        }
        Deployment d = kit.start(DeployPlan.builder().action(Action.runScripts(ScriptSet.of("slow", Script.of("sleep",
                Command.of("sleep", "2"))))).targetAll().batch(BatchSize.count(1)).build());
        System.out.println("started " + d.id());
        Thread.currentThread().join();
    }

    private static String arg(String[] args, String name) {
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        throw new IllegalArgumentException(name + " is required");
    }
}
