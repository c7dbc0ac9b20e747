package dev.deploykit;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * An ordered, reusable list of scripts (the "script group" of older tools). A plan runs them in
 * order on each node and stops that node at the first that fails.
 */
public record ScriptSet(String name, List<Script> scripts) {
    public ScriptSet {
        Checks.id("script set name", name);
        if (scripts == null || scripts.isEmpty()) {
            throw new IllegalArgumentException("script set " + name + " must contain at least one script");
        }
        Set<String> seen = new HashSet<>();
        for (Script s : scripts) {
            if (!seen.add(s.name())) {
                throw new IllegalArgumentException("script set " + name + " has two scripts named " + s.name());
            }
        }
        scripts = List.copyOf(scripts);
    }

    public static ScriptSet of(String name, Script... scripts) {
        return new ScriptSet(name, List.of(scripts));
    }
}
