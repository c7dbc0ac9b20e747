package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Script sets saved by name and version and run by reference, on local nodes. */
class ScriptSetsTest {
    @TempDir
    Path tmp;
    Cluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A set named {@code hooks} whose one script echoes {@code text}. */
    private static ScriptSet hooks(String text) {
        return ScriptSet.of("hooks", Script.of("note", Command.shell("echo " + text)));
    }

    @Test
    void aScriptSetSavedAs10And11RunsByVersionAndPreviewNamesIt() throws Exception {
        cluster = new Cluster(tmp, 2);
        DeployKit kit = cluster.kit;
        ScriptSet v10 = ScriptSet.of("hooks", Script.of("note", Command.shell("echo \"hooks 1.0\" >> \"" + tmp + "/runs.log\"")));
        ScriptSet v11 = ScriptSet.of("hooks", Script.of("note", Command.shell("echo \"hooks 1.1\" >> \"" + tmp + "/runs.log\"")),
                Script.of("again", Command.shell("echo \"hooks 1.1 again\" >> \"" + tmp + "/runs.log\"")));
        kit.scriptSets().save(v11, "1.1");
        kit.scriptSets().save(v10, "1.0");
        kit.scriptSets().save(v10, "1.0"); // the same scripts again: harmless
        assertEquals(List.of("1.0", "1.1"), kit.scriptSets().versions("hooks"));
        assertEquals(v11, kit.scriptSets().get("hooks", "1.1").orElseThrow());

        DeployPlan plan = DeployPlan.builder().action(Action.runScripts("hooks", "1.1")).targetServers("n01").build();
        List<NodePreview> preview = kit.preview(plan);
        assertEquals(List.of("hooks 1.1"), preview.stream().map(NodePreview::scripts).toList());

        Deployment d = cluster.run(plan);
        assertEquals(Map.of("n01", NodeStatus.SUCCEEDED), cluster.statuses(d));
        assertEquals(List.of("hooks 1.1", "hooks 1.1 again"), Files.readAllLines(tmp.resolve("runs.log")));
        assertEquals(Action.runScripts("hooks", "1.1"), d.plan().action(), "the deployment keeps the reference");

        Deployment older = cluster.run(DeployPlan.builder().action(Action.runScripts("hooks", "1.0")).targetServers("n02").build());
        assertEquals(Map.of("n02", NodeStatus.SUCCEEDED), cluster.statuses(older));
        assertEquals(List.of("hooks 1.1", "hooks 1.1 again", "hooks 1.0"), Files.readAllLines(tmp.resolve("runs.log")));
    }

    @Test
    void aSavedVersionNeverChangesAndAnUnsavedOneIsRefusedNamingTheSavedOnes() {
        cluster = new Cluster(tmp, 1);
        DeployKit kit = cluster.kit;
        kit.scriptSets().save(hooks("1.0"), "1.0");
        ConflictException changed = assertThrows(ConflictException.class, () -> kit.scriptSets().save(hooks("other"), "1.0"));
        assertTrue(changed.getMessage().contains("script set hooks 1.0 is already saved with other scripts"), changed.getMessage());
        assertThrows(IllegalArgumentException.class, () -> kit.scriptSets().save(hooks("x"), "not a version"));

        PlanValidationException missing = assertThrows(PlanValidationException.class,
                () -> kit.preview(DeployPlan.builder().action(Action.runScripts("hooks", "2.0")).targetAll().build()));
        assertEquals("action", missing.field());
        assertTrue(missing.getMessage().contains("script set hooks 2.0 is not saved; saved versions: [1.0]"), missing.getMessage());
    }
}
