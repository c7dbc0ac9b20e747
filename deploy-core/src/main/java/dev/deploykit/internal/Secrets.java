package dev.deploykit.internal;

import dev.deploykit.Command;
import dev.deploykit.NotFoundException;
import dev.deploykit.Secret;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.SecretSource;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Resolves {@link Secret} references in a command just before a session runs it, and masks the
 * values it resolved wherever text leaves the node (output lines, stderr tails, error messages).
 * The resolved command is handed to the session and dropped; nothing here is stored. Thread-safe.
 */
final class Secrets {
    static final String MASK = "***";
    private final SecretSource source;

    /** The command to run, and the secret values in it, to mask in whatever the run reports. */
    record Resolved(Command command, Set<String> values) {
        OutputListener masking(OutputListener out) {
            return values.isEmpty() ? out : (stream, line) -> out.onLine(stream, mask(line, values));
        }

        ExecResult masked(ExecResult result) {
            return values.isEmpty() ? result
                    : new ExecResult(result.exitCode(), result.timedOut(), mask(result.stderrTail(), values), result.took());
        }
    }

    Secrets(SecretSource source) {
        this.source = source;
    }

    /** {@code command} with every {@code ${secret:NAME}} replaced; an unknown name is a {@link NotFoundException}. */
    Resolved resolve(Command command) {
        Set<String> values = new LinkedHashSet<>();
        Map<String, String> cache = new HashMap<>();
        java.util.function.UnaryOperator<String> value = name -> cache.computeIfAbsent(name, n -> {
            String v = source.lookup(n).orElseThrow(() -> new NotFoundException("secret", n));
            if (!v.isEmpty()) {
                values.add(v);
            }
            return v;
        });
        List<String> argv = command.argv().stream().map(a -> a.contains("${secret:") ? Secret.replaceIn(a, value) : a).toList();
        Map<String, String> env = new HashMap<>();
        command.env().forEach((k, v) -> env.put(k, v.contains("${secret:") ? Secret.replaceIn(v, value) : v));
        if (values.isEmpty() && cache.isEmpty()) {
            return new Resolved(command, Set.of());
        }
        return new Resolved(new Command(argv, env, command.cwd(), command.timeout(), command.runAs()), Set.copyOf(values));
    }

    /** {@code text} with every occurrence of each value replaced by {@link #MASK}, longest values first. */
    static String mask(String text, Collection<String> values) {
        if (text == null || values.isEmpty()) {
            return text;
        }
        String out = text;
        for (String v : values.stream().sorted((a, b) -> b.length() - a.length()).toList()) {
            out = out.replace(v, MASK);
        }
        return out;
    }
}
