package dev.deploykit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** docs/cli.md names every command, every exit code and every inventory key the CLI has. */
class CliDocTest {
    private static List<String> tableRows() throws IOException {
        return Files.readString(Path.of("../docs/cli.md")).lines().filter(l -> l.startsWith("| ")).toList();
    }

    @Test
    void everyCommandIsInATableRow() throws IOException {
        List<String> rows = tableRows();
        List<String> missing = new ArrayList<>();
        leaves(DeployKitCli.commandLine(System.out, System.err, Map.of()), "", missing, rows);
        assertEquals(List.of(), missing, "commands missing from docs/cli.md");
    }

    private static void leaves(CommandLine c, String parent, List<String> missing, List<String> rows) {
        for (CommandLine sub : c.getSubcommands().values()) {
            String name = sub.getCommandName();
            if (name.equals("help") || name.equals("run")) {
                continue; // picocli's own; run has its own section
            }
            if (sub.getSubcommands().isEmpty()) {
                String full = parent.isEmpty() ? name : parent + " " + name;
                boolean listed = rows.stream().anyMatch(r -> r.contains("`" + full + " ") || r.contains("`" + full + "`")
                        || r.contains("`" + parent + " ") && r.matches(".*[ |\\\\]" + name + "([ |\\\\`]).*"));
                if (!listed) {
                    missing.add(full);
                }
            } else {
                leaves(sub, name, missing, rows);
            }
        }
    }

    @Test
    void everyExitCodeAndInventoryKeyIsDocumented() throws IOException {
        List<String> rows = tableRows();
        List<String> missing = new ArrayList<>();
        for (ExitCode code : ExitCode.values()) {
            if (rows.stream().noneMatch(r -> r.startsWith("| " + code.code() + " |"))) {
                missing.add("exit code " + code.code());
            }
        }
        Stream.of(Inventory.Host.class, Inventory.Connection.class, Inventory.Group.class).flatMap(t -> Stream.of(t.getRecordComponents()))
                .map(RecordComponent::getName).distinct()
                .filter(key -> rows.stream().noneMatch(r -> r.contains("`" + key + "`") || r.contains("`." + key + "`") || r.contains("." + key + "`")
                        || r.contains("`" + key + ":")))
                .forEach(key -> missing.add("inventory key " + key));
        assertEquals(List.of(), missing, "missing from docs/cli.md");
    }
}
