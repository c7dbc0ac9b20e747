package dev.deploykit.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.DeployPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** docs/plan-files.md shows files that read as it says, and mentions every field the reader knows. */
class PlanFilesDocTest {
    private static final String DOC = read();

    private static String read() {
        try {
            return Files.readString(Path.of("../docs/plan-files.md"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String block(String language) {
        String open = "```" + language + "\n";
        int start = DOC.indexOf(open);
        assertTrue(start >= 0, "docs/plan-files.md has no " + open.trim() + " block");
        return DOC.substring(start + open.length(), DOC.indexOf("```", start + open.length()));
    }

    @Test
    void theYamlExampleReadsAsDescribedAndTheJsonBlockIsWhatToJsonWrites() {
        DeployPlan plan = PlanFiles.read(block("yaml"), "deploy/web.yaml");
        assertEquals("web 2.3.1", plan.name());
        assertEquals(Action.install("web-app", "2.3.1"), plan.action());
        assertEquals(Set.of("web"), plan.target().groups());
        assertEquals(Set.of("web-7"), plan.target().exclude());
        assertEquals(BatchSize.count(1), plan.canary());
        assertEquals(BatchSize.percent(25), plan.batch());
        assertEquals(Duration.ofSeconds(30), plan.pauseBetweenBatches());
        assertEquals(BatchSize.percent(10), plan.maxFailed());
        assertTrue(plan.rollbackOnFailure());
        assertEquals(List.of("systemctl", "stop", "web-app"), plan.beforeHooks().get(0).argv());
        assertEquals(Duration.ofSeconds(30), plan.afterHooks().get(0).timeout());
        assertEquals(5, plan.healthCheck().retries());
        assertEquals(block("json"), PlanFiles.toJson(plan));
        assertEquals(plan, PlanFiles.fromJson(block("json")));
    }

    @Test
    void everyFieldTheReaderKnowsIsDocumented() {
        Set<String> words = java.util.regex.Pattern.compile("`([^`\n]+)`").matcher(DOC).results()
                .flatMap(m -> java.util.Arrays.stream(m.group(1).split("[^A-Za-z]+"))).collect(java.util.stream.Collectors.toSet());
        List<String> missing = PlanReader.FIELDS.values().stream().flatMap(List::stream).distinct()
                .filter(field -> !words.contains(field)).toList();
        assertEquals(List.of(), missing, "fields missing from docs/plan-files.md");
    }
}
