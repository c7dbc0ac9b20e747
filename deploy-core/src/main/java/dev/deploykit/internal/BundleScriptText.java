package dev.deploykit.internal;

import dev.deploykit.Command;
import dev.deploykit.PackageFormatException;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A saved script's {@link Command} as the POSIX sh text of a bundle lifecycle script. A bundle is an
 * artifact: it is stored and sent as is, so a command that references a secret (which would be
 * resolved into the file) or runs as another user is refused.
 */
final class BundleScriptText {
    private BundleScriptText() {}

    static String of(ScriptSet set, Script script) {
        Command c = script.command();
        String where = "script " + script.name() + " of script set " + set.name();
        if (c.runAs() != null) {
            throw new PackageFormatException(where + " runs as " + c.runAs() + "; a bundle script runs as the node's deploy user");
        }
        if (c.toString().contains("${secret:") || c.env().values().stream().anyMatch(v -> v.contains("${secret:"))) {
            throw new PackageFormatException(where + " references a secret; a bundle is stored and shipped as is, so it cannot hold one");
        }
        List<String> words = new ArrayList<>();
        if (!c.env().isEmpty()) {
            words.add("env");
            new TreeMap<>(c.env()).forEach((k, v) -> words.add(quote(k + "=" + v)));
        }
        c.argv().forEach(a -> words.add(quote(a)));
        String line = String.join(" ", words);
        return c.cwd() == null ? line : "cd " + quote(c.cwd()) + "\n" + line;
    }

    /** {@code word} as one sh word, in single quotes. */
    static String quote(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }

    /** The phases a script set provides, by script name. */
    static Map<String, Script> byName(ScriptSet set) {
        Map<String, Script> m = new TreeMap<>();
        set.scripts().forEach(s -> m.put(s.name(), s));
        return m;
    }
}
