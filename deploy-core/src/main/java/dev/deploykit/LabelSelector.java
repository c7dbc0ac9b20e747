package dev.deploykit;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Selects servers whose labels contain every {@code key=value} pair. An empty selector matches no
 * server, so a group with no members and no selector is empty rather than "everything".
 */
public record LabelSelector(Map<String, String> matchLabels) {
    public static final LabelSelector NONE = new LabelSelector(Map.of());

    public LabelSelector {
        matchLabels.forEach((k, v) -> Checks.labelValue(Checks.labelKey(k), v));
        matchLabels = Map.copyOf(matchLabels);
    }

    /** Parses {@code "role=web,dc=sh1"}; the error names the bad pair. */
    public static LabelSelector parse(String text) {
        Map<String, String> labels = new LinkedHashMap<>();
        for (String pair : text.split(",")) {
            String trimmed = pair.trim();
            int eq = trimmed.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("label selector pair must be key=value, but was '" + trimmed + "'");
            }
            labels.put(trimmed.substring(0, eq).trim(), trimmed.substring(eq + 1).trim());
        }
        return new LabelSelector(labels);
    }

    public boolean matches(Server server) {
        return !matchLabels.isEmpty()
                && matchLabels.entrySet().stream().allMatch(e -> e.getValue().equals(server.labels().get(e.getKey())));
    }

    @Override
    public String toString() {
        return matchLabels.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).sorted().collect(Collectors.joining(","));
    }
}
