package dev.deploykit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line itself, with no server: usage, errors found before any request, completion. */
class DeployKitCliTest {
    @TempDir
    Path dir;

    @Test
    void aUsageErrorExitsTwoWithTheUsage() {
        CliRun run = CliRun.of("deployments", "lsit");
        assertEquals(2, run.exit(), run.toString());
        assertTrue(run.err().contains("Unmatched argument at index 1: 'lsit'") && run.err().contains("Usage: deploykit deployments"), run.toString());
        assertEquals(2, CliRun.of("deployment", "cancel").exit(), "the id is required");
    }

    @Test
    void withoutAServerItSaysHowToNameOne() {
        CliRun run = CliRun.of("servers", "list");
        assertEquals(2, run.exit());
        assertEquals("deploykit: which server? give --server URL and --token-file FILE (or set DEPLOYKIT_SERVER and DEPLOYKIT_TOKEN_FILE); "
                + "for console mode without a server see 'deploykit run --help'\n", run.err());
    }

    @Test
    void theServerAndTokenFileComeFromTheEnvironmentTooAndAnUnreachableServerIsFive() throws Exception {
        Path token = Files.writeString(dir.resolve("token"), "t0k3n\n");
        CliRun run = CliRun.of(Map.of("DEPLOYKIT_SERVER", "http://127.0.0.1:9", "DEPLOYKIT_TOKEN_FILE", token.toString()),
                List.of("deployments", "list"));
        assertEquals(5, run.exit(), run.toString());
        assertTrue(run.err().startsWith("deploykit: cannot reach http://127.0.0.1:9/api/v1: "), run.toString());
    }

    @Test
    void aMistakeInThePlanFileIsReportedAtItsLineBeforeAnythingIsSent() throws Exception {
        Path plan = Files.writeString(dir.resolve("web.yaml"), "action:\n  install: {package: app, version: \"1.0\"}\ntarget: {groups: [web]}\n"
                + "rollout: {bach: 2}\n");
        Path token = Files.writeString(dir.resolve("token"), "t0k3n\n");
        CliRun run = CliRun.of("plan", "apply", plan.toString(), "--server", "http://127.0.0.1:9", "--token-file", token.toString());
        assertEquals(2, run.exit(), run.toString());
        assertEquals("deploykit: " + plan + ":4:11 rollout.bach: unknown field; rollout has canary, batch, concurrency, pauseBetweenBatches, "
                + "manualPromote\n", run.err());
    }

    @Test
    void aMissingTokenFileIsNamed() {
        CliRun run = CliRun.of("servers", "list", "--server", "https://deploy.example", "--token-file", dir.resolve("nope").toString());
        assertEquals(2, run.exit());
        assertTrue(run.err().startsWith("deploykit: --token-file: cannot read " + dir.resolve("nope")), run.toString());
    }

    @Test
    void completionPrintsABashScriptThatKnowsTheCommands() {
        CliRun run = CliRun.of("completion");
        assertEquals(0, run.exit());
        assertTrue(run.out().contains("complete -F _complete_deploykit") && run.out().contains("deployments") && run.out().contains("--inventory"),
                run.out().substring(0, 400));
    }

    @Test
    void versionIsTheBuiltOne() {
        CliRun run = CliRun.of("--version");
        assertEquals(0, run.exit());
        assertTrue(run.out().matches("deploykit \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?\n"), run.out());
    }
}
