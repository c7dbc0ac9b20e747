package dev.deploykit;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A reference to a secret by name, resolved from the controller's {@link dev.deploykit.spi.SecretSource}
 * only at dispatch, on the controller that runs the step. A plan, a command, an event, a store row,
 * a log line and an exception carry the reference ({@code ${secret:NAME}}), never the value; output
 * lines that contain a resolved value are masked as {@code ***} before they become events.
 *
 * <p>Use it anywhere in a command's argv or env values, alone or inside a longer string:
 * <pre>{@code
 * Secret db = Secret.of("db-root");
 * Command.of("mysql", "-uroot", "-p" + db, "-e", "select 1")                 // argv
 *        .withEnv(Map.of("DB_ROOT_PASSWORD", db.reference()));               // env
 * }</pre>
 */
public record Secret(String name) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,127}");
    private static final Pattern REFERENCE = Pattern.compile("\\$\\{secret:([^}]*)}");

    public Secret {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("secret name must match " + NAME.pattern() + ", but was " + Checks.quote(name));
        }
    }

    public static Secret of(String name) {
        return new Secret(name);
    }

    /** The text that stands for this secret in argv and env values: {@code ${secret:NAME}}. */
    public String reference() {
        return "${secret:" + name + "}";
    }

    /** The reference, so that {@code "-p" + secret} builds an argument that resolves at dispatch. */
    @Override
    public String toString() {
        return reference();
    }

    /** Names of the secrets referenced in {@code text}, in order of first use. */
    public static Set<String> namesIn(String text) {
        Set<String> names = new LinkedHashSet<>();
        Matcher m = REFERENCE.matcher(text);
        while (m.find()) {
            names.add(new Secret(m.group(1)).name());
        }
        return names;
    }

    /** {@code text} with each reference replaced by {@code value(name)}. */
    public static String replaceIn(String text, java.util.function.UnaryOperator<String> value) {
        return REFERENCE.matcher(text).replaceAll(m -> Matcher.quoteReplacement(value.apply(m.group(1))));
    }
}
