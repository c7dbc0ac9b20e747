package dev.deploykit.plan;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.deploykit.DeployPlan;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Whatever a file holds, reading it gives a plan or one {@link PlanFileException} with a line and
 * column, never another exception: every prefix of a full plan, and that plan with each character
 * replaced, in turn, by characters that YAML or JSON give a meaning to.
 */
class PlanFileFuzzTest {
    private static final List<Character> MEANINGFUL = List.of(':', '[', ']', '{', '}', '&', '*', '!', '\t', '"', '\'', '-', '#', '%',
            '\\', ',', '\n', '|', '>', '\u0000', '\u0085', '?', '@', '`', '1');

    @Test
    void everyPrefixAndEveryOneCharacterChangeReadsOrFailsWithAPosition() {
        DeployPlan plan = RoundTripTest.plans().get(1);
        int read = 0;
        for (String name : List.of("plan.yaml", "plan.json")) {
            String text = name.endsWith(".json") ? PlanFiles.toJson(plan) : PlanFiles.toYaml(plan);
            for (int i = 0; i <= text.length(); i++) {
                read += tryRead(text.substring(0, i), name);
            }
            for (int i = 0; i < text.length(); i++) {
                for (int k = 0; k < 2; k++) {   // two of the characters at each position, a different pair each time
                    char c = MEANINGFUL.get((i * 7 + k * 11) % MEANINGFUL.size());
                    read += tryRead(text.substring(0, i) + c + text.substring(i + 1), name);
                }
            }
        }
        assertTrue(read > 0, "some variations are still plans");
    }

    private static int tryRead(String text, String name) {
        try {
            PlanFiles.read(text, name);
            return 1;
        } catch (PlanFileException e) {
            assertTrue(e.line() >= 1 && e.column() >= 1 && e.getMessage().startsWith(name + ":" + e.line() + ":" + e.column() + " "),
                    e.getMessage());
            return 0;
        } catch (RuntimeException e) {
            fail("not a PlanFileException for:\n" + text, e);
            return 0;
        }
    }
}
