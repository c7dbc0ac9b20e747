package dev.deploykit.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One test per kind of mistake a plan file can hold: each gives one {@link PlanFileException} whose
 * message names the file, the line and column, and the field. Mistakes only a DeployKit can see (an
 * unknown group, a package that is not published) are in {@link PlanFileKitTest}.
 */
class PlanFileErrorsTest {
    private static final String VALID = """
            name: web
            action:
              install: {package: web-app, version: 2.3.1}
            target:
              groups: [web]
            """;

    private static String error(String yaml) {
        return assertThrows(PlanFileException.class, () -> PlanFiles.read(yaml, "plan.yaml")).getMessage();
    }

    private static String jsonError(String json) {
        return assertThrows(PlanFileException.class, () -> PlanFiles.read(json, "plan.json")).getMessage();
    }

    @Test
    void unknownFieldNamesItsPathAndTheKnownFields() {
        assertEquals("plan.yaml:8:3 rollout.bach: unknown field; rollout has canary, batch, concurrency, pauseBetweenBatches, manualPromote",
                error(VALID + "rollout:\n  canary: 1\n  bach: 2\n"));
        assertEquals("plan.yaml:6:1 rolout: unknown field; a plan has name, action, target, rollout, failurePolicy, hooks, healthCheck, "
                + "stepTimeout, window", error(VALID + "rolout: {batch: 2}\n"));
        assertEquals("plan.json:1:53 target.group: unknown field; target has all, groups, servers, selector, exclude",
                jsonError("{\"action\": {\"remove\": {\"package\": \"x\"}}, \"target\": {\"group\": [\"web\"]}}"));
    }

    @Test
    void badPercentPointsAtTheValue() {
        assertEquals("plan.yaml:8:10 rollout.batch: must be in 1%..100%, but was 150%", error(VALID + "rollout:\n  canary: 1\n  batch: 150%\n"));
        assertEquals("plan.yaml:8:14 failurePolicy.maxFailed: must be a count such as 3 or a percent such as '25%', but was the string '10 %'",
                error(VALID + "failurePolicy:\n  maxFailed: 10 %\n".replace("failurePolicy:\n", "failurePolicy:\n  rollbackOnFailure: true\n")));
        assertEquals("plan.yaml:6:19 rollout.canary: must be >= 0, but was -1", error(VALID + "rollout: {canary: -1}\n"));
    }

    @Test
    void missingPackageFieldIsRequired() {
        assertEquals("plan.yaml:2:12 action.install.version: is required",
                error("action:\n  install: {package: web-app}\ntarget: {all: true}\n"));
        assertEquals("plan.yaml:2:11 action.remove.package: is required", error("action:\n  remove: {}\ntarget: {all: true}\n"));
        assertEquals("plan.yaml:1:1 action: must be set", error("target: {all: true}\n"));
    }

    @Test
    void wrongTypesSayWhatWasExpectedAndWhatWasFound() {
        assertEquals("plan.yaml:5:11 target.groups: must be a list, but was the string 'web'",
                error(VALID.replace("groups: [web]", "groups: web")));
        assertEquals("plan.yaml:3:40 action.install.version: must be a string, but was the number 2.10 (quote it: \"2.10\")",
                error(VALID.replace("2.3.1", "2.10")));
        assertEquals("plan.yaml:6:24 healthCheck.retries: must be a whole number, but was the string 'five'",
                error(VALID + "healthCheck: {retries: five, interval: 2s}\n"));
        assertEquals("plan.yaml:6:36 failurePolicy.rollbackOnFailure: must be true or false, but was the string 'sure'",
                error(VALID + "failurePolicy: {rollbackOnFailure: sure}\n"));
        assertEquals("plan.yaml:6:32 rollout.pauseBetweenBatches: must be a duration such as 30s, 5m, 1h30m or 250ms "
                + "(units h, m, s, ms, us, ns), but was the number 30", error(VALID + "rollout: {pauseBetweenBatches: 30}\n"));
        assertEquals("plan.yaml:8:7 hooks.before[0]: must be a command: a list of arguments such as [systemctl, restart, app] "
                + "(never one shell string; for a script write [/bin/sh, -c, 'the script']) or a map with argv, but was the string "
                + "'systemctl stop app'", error(VALID + "hooks:\n  before:\n    - systemctl stop app\n"));
    }

    @Test
    void duplicateKeyNamesBothPlaces() {
        assertEquals("plan.yaml:8:3 rollout.batch: duplicate key 'batch' (first at 7:3)",
                error(VALID + "rollout:\n  batch: 2\n  batch: 3\n"));
        assertEquals("plan.json:2:10 name: duplicate key 'name' (first at 1:2)", jsonError("{\"name\": \"a\",\n \"x\": 1, \"name\": \"b\"}"));
    }

    @Test
    void tabInIndentationIsRefusedAtItsColumn() {
        assertEquals("plan.yaml:7:1 tab character: YAML indents with spaces only", error(VALID + "rollout:\n\tbatch: 2\n"));
    }

    @Test
    void fiftyMegabyteFileIsRefusedBeforeItIsRead(@TempDir Path tmp) throws IOException {
        Path huge = tmp.resolve("plan.yaml");
        try (RandomAccessFile f = new RandomAccessFile(huge.toFile(), "rw")) {
            f.setLength(50L * 1024 * 1024);   // sparse: no 50 MB is written, and none is read
        }
        PlanFileException e = assertThrows(PlanFileException.class, () -> PlanFiles.read(huge));
        assertEquals(huge + ":1:1 the file is 52428800 bytes, over the limit of 1048576 bytes (1 MiB) for a plan file", e.getMessage());
        assertEquals(huge.toString(), e.source());
        String text = VALID + "name2: " + "x".repeat(PlanFiles.MAX_BYTES) + "\n";
        assertEquals("plan.yaml:1:1 the file is " + text.length() + " characters, over the limit of 1048576 bytes (1 MiB) for a plan file",
                error(text));
    }

    @Test
    void deepNestingIsRefusedWhereItPassesTheLimit() {
        assertEquals("plan.yaml:1:70 nested deeper than 64 levels", error("name: " + "[".repeat(100) + "]".repeat(100) + "\n"));
        assertEquals("plan.json:1:65 nested deeper than 64 levels", jsonError("[".repeat(5000) + "]".repeat(5000)));
    }

    @Test
    void yamlAliasBombIsRefusedAtTheFirstAnchor() {
        StringBuilder bomb = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (char c = 'b'; c <= 'i'; c++) {
            String prev = "*" + (char) (c - 1);
            bomb.append(c).append(": &").append(c).append(" [").append(String.join(",", java.util.Collections.nCopies(9, prev))).append("]\n");
        }
        assertEquals("plan.yaml:1:4 a: YAML anchors and aliases (&name, *name) are not allowed in a plan file: write the value out",
                error(bomb.toString()));
        assertEquals("plan.yaml:1:7 name: YAML anchors and aliases (&name, *name) are not allowed in a plan file: write the value out",
                error(VALID.replace("name: web", "name: *web")));
    }

    @Test
    void syntaxErrorsHaveTheirPositionToo(@TempDir Path tmp) throws IOException {
        assertEquals("plan.json:2:1 syntax: Unexpected end-of-input: expected close marker for Object (start marker at 1:1)",
                jsonError("{\"name\": \"a\"\n"));
        assertEquals("plan.yaml:2:1 YAML syntax: expected ',' or ']', but got <stream end>", error("name: [a\n"));
        assertEquals("plan.yaml:1:1 the file is empty", error("# nothing here\n"));
        assertEquals("plan.yaml:7:1 a plan file holds one document, but a second one starts here", error(VALID + "---\nname: other\n"));
        assertEquals("plan.yaml:1:1 must be a map with name, action, target, rollout, failurePolicy, hooks, healthCheck, stepTimeout, window, "
                + "but was a list", error("- install\n"));
        Path latin1 = Files.write(tmp.resolve("plan.yaml"), "name: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(latin1 + ":1:10 not UTF-8 text (byte 9)", assertThrows(PlanFileException.class, () -> PlanFiles.read(latin1)).getMessage());
        Path missing = tmp.resolve("missing.yaml");
        assertEquals(0, assertThrows(PlanFileException.class, () -> PlanFiles.read(missing)).line());
    }

    @Test
    void fieldErrorsFromTheModelPointAtTheirValue() {
        assertEquals("plan.yaml:7:11 target.selector.role: label role value must match [A-Za-z0-9._-]{0,63}, but was 'web server'",
                error(VALID.replace("groups: [web]", "groups: [web]\n  selector:\n    role: web server")));
        assertEquals("plan.yaml:5:17 target.groups[1]: 'web' is listed twice", error(VALID.replace("[web]", "[web, web]")));
        assertEquals("plan.yaml:8:15 hooks.before[0][1]: secret name must match [A-Za-z0-9][A-Za-z0-9._/-]{0,127}, but was 'db pass'",
                error(VALID + "hooks:\n  before:\n    - [mysql, \"-p${secret:db pass}\"]\n"));
        assertEquals("plan.yaml:3:3 action: must name exactly one of install, remove, runScripts, rollback, but named install, remove",
                error(VALID.replace("  install: {package: web-app, version: 2.3.1}", "  install: {package: web-app, version: 2.3.1}\n  remove: {package: x}")));
        assertEquals("plan.yaml:6:36 failurePolicy.rollbackOnFailure: only install actions can be rolled back, but the action was "
                + "Remove[packageName=web-app, purge=false]", error(VALID.replace("install: {package: web-app, version: 2.3.1}", "remove: {package: web-app}")
                        + "failurePolicy: {rollbackOnFailure: true}\n"));
        assertEquals("plan.yaml:6:38 healthCheck.retries: must be >= 0, but was -1", error(VALID + "healthCheck: {interval: 1s, retries: -1}\n"));
        assertEquals("plan.yaml:6:34 window.length: must be more than zero and at most 1 day, but was PT30H",
                error(VALID + "window: {opens: \"02:00\", length: 30h}\n"));
        assertEquals("plan.yaml:6:50 window.days[1]: must be a day such as MON or MONDAY, but was 'SNU'",
                error(VALID + "window: {opens: \"02:00\", length: 2h, days: [SAT, SNU]}\n"));
        assertTrue(error(VALID + "window: {opens: \"25:00\", length: 2h}\n").startsWith("plan.yaml:6:17 window.opens: must be a time of day"),
                error(VALID + "window: {opens: \"25:00\", length: 2h}\n"));
    }
}
