package dev.deploykit.version;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DebianVersionsTest {
    @TempDir
    Path tmp;

    private static int cmp(String a, String b) {
        return DebianVersions.ORDER.compare(a, b);
    }

    @Test
    void knownOrderings() {
        assertTrue(cmp("1.0~rc1", "1.0") < 0);
        assertTrue(cmp("1.0~~", "1.0~") < 0);
        assertTrue(cmp("1.0", "1.0+b1") < 0);
        assertTrue(cmp("1.9", "1.10") < 0);
        assertTrue(cmp("1:0.1", "9.9") > 0);
        assertTrue(cmp("1.0a", "1.0+") < 0, "letters sort before non-letters");
        assertEquals(0, cmp("1.01", "1.1"));
        assertEquals(0, cmp("0:1.0", "1.0"));
        assertTrue(cmp("1.0-1", "1.0-1ubuntu1") < 0);
        assertTrue(cmp("2.0-1", "2.0-1~bpo1") > 0);
    }

    @Test
    void grammar() {
        assertTrue(DebianVersions.isValid("1:2.3.4-5ubuntu0.1~18.04"));
        assertFalse(DebianVersions.isValid("v1.0"));
        assertFalse(DebianVersions.isValid("1.0 beta"));
        assertFalse(DebianVersions.isValid(""));
        assertFalse(DebianVersions.isValid("1.0-"), "dpkg: revision number is empty");
    }

    /** Thousands of generated pairs compared with {@code dpkg --compare-versions}, in one shell run. */
    @Test
    void agreesWithDpkgOnGeneratedPairs() throws Exception {
        Requirements.tool("dpkg", "to check version ordering against the real dpkg");
        Random random = new Random(7);
        String[] pieces = {"0", "1", "2", "9", "10", "01", ".", "~", "+", "a", "b", "z", "rc", "-", "~~", "~a", "+b"};
        List<String[]> pairs = new ArrayList<>();
        while (pairs.size() < 3000) {
            String a = version(random, pieces);
            String b = random.nextInt(4) == 0 ? a : version(random, pieces);
            if (DebianVersions.isValid(a) && DebianVersions.isValid(b)) {
                pairs.add(new String[] {a, b});
            }
        }
        Path input = tmp.resolve("pairs");
        Files.write(input, pairs.stream().map(p -> p[0] + " " + p[1]).toList());
        Process p = new ProcessBuilder("/bin/sh", "-c",
                "while read a b; do if dpkg --compare-versions \"$a\" lt \"$b\"; then echo -1; "
                        + "elif dpkg --compare-versions \"$a\" eq \"$b\"; then echo 0; else echo 1; fi; done < \"$1\"",
                "sh", input.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> answers = new String(p.getInputStream().readAllBytes()).lines().toList();
        assertEquals(0, p.waitFor());
        assertEquals(pairs.size(), answers.size(), String.join("\n", answers.subList(0, Math.min(5, answers.size()))));
        for (int i = 0; i < pairs.size(); i++) {
            String[] pair = pairs.get(i);
            assertEquals(Integer.parseInt(answers.get(i)), Integer.signum(cmp(pair[0], pair[1])), pair[0] + " vs " + pair[1]);
        }
    }

    private static String version(Random random, String[] pieces) {
        StringBuilder sb = new StringBuilder();
        if (random.nextInt(8) == 0) {
            sb.append(random.nextInt(3)).append(':');
        }
        sb.append(random.nextInt(20));
        int n = random.nextInt(6);
        for (int i = 0; i < n; i++) {
            sb.append(pieces[random.nextInt(pieces.length)]);
        }
        if (random.nextInt(3) == 0) {
            sb.append('-').append(random.nextInt(5)).append(pieces[random.nextInt(pieces.length)].replace("-", ""));
        }
        return sb.toString();
    }
}
