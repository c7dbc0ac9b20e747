package dev.deploykit.version;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RpmVersionsTest {
    @TempDir
    Path tmp;

    private static int cmp(String a, String b) {
        return Integer.signum(RpmVersions.ORDER.compare(a, b));
    }

    @Test
    void knownOrderings() {
        assertEquals(-1, cmp("1.0~rc1-1", "1.0-1"));
        assertEquals(1, cmp("1.0^git1-1", "1.0-1"));
        assertEquals(-1, cmp("1.0^git1-1", "1.0.1-1"));
        assertEquals(-1, cmp("1.9-1", "1.10-1"));
        assertEquals(1, cmp("1:0.1-1", "9.9-9"));
        assertEquals(0, cmp("1.0-1", "0:1.0-1"));
        assertEquals(0, cmp("1.01-1", "1.1-1"));
        assertEquals(-1, cmp("1.0a-1", "1.0.1-1"), "a number segment is newer than a letter segment");
        assertEquals(-1, cmp("1.0", "1.0-5"), "a missing release compares as empty, as in rpm.vercmp");
        assertEquals(0, cmp("1_0-1", "1.0-1"), "separators are not compared");
    }

    /** Thousands of generated pairs compared with rpm's own {@code rpm.vercmp}, in one rpm run. */
    @Test
    void agreesWithRpmOnGeneratedPairs() throws Exception {
        Path rpm = Requirements.tool("rpm", "to check version ordering against the real rpm");
        Random random = new Random(11);
        String[] pieces = {"0", "1", "2", "9", "10", "01", ".", "~", "^", "+", "_", "a", "b", "Z", "rc", "~~", "^a", "git"};
        List<String[]> pairs = new ArrayList<>();
        while (pairs.size() < 3000) {
            String a = evr(random, pieces);
            String b = random.nextInt(4) == 0 ? a : evr(random, pieces);
            if (RpmVersions.isValid(a) && RpmVersions.isValid(b)) {
                pairs.add(new String[] {a, b});
            }
        }
        Path input = tmp.resolve("pairs");
        Files.write(input, pairs.stream().map(p -> p[0] + " " + p[1]).toList());
        String lua = "%{lua: for line in io.lines('" + input + "') do "
                + "local a, b = line:match('^(%S+) (%S+)$'); print(rpm.vercmp(a, b) .. '\\n') end}";
        Process p = new ProcessBuilder(rpm.toString(), "--eval", lua).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> answers = new String(p.getInputStream().readAllBytes()).lines().filter(l -> !l.isBlank()).toList();
        assertEquals(0, p.waitFor());
        assertEquals(pairs.size(), answers.size());
        for (int i = 0; i < pairs.size(); i++) {
            assertEquals(Integer.parseInt(answers.get(i).trim()), cmp(pairs.get(i)[0], pairs.get(i)[1]), pairs.get(i)[0] + " vs " + pairs.get(i)[1]);
        }
        assertTrue(pairs.stream().anyMatch(x -> x[0].contains("^")));
    }

    private static String evr(Random random, String[] pieces) {
        StringBuilder sb = new StringBuilder();
        if (random.nextInt(8) == 0) {
            sb.append(random.nextInt(3)).append(':');
        }
        sb.append(random.nextInt(20));
        for (int i = random.nextInt(6); i > 0; i--) {
            sb.append(pieces[random.nextInt(pieces.length)]);
        }
        if (random.nextInt(3) > 0) {
            sb.append('-').append(random.nextInt(5));
            for (int i = random.nextInt(3); i > 0; i--) {
                sb.append(pieces[random.nextInt(pieces.length)]);
            }
        }
        return sb.toString();
    }
}
