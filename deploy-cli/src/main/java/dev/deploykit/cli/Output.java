package dev.deploykit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.function.Function;

/**
 * What a command prints on stdout: for people, tables for lists and YAML for one thing; with
 * {@code --output json}, the server's JSON as it is, for scripts. Not thread-safe.
 */
final class Output {
    /** One column of a table: its header and how to get its text from an element. */
    record Column(String header, Function<JsonNode, String> value) {}

    private final PrintStream out;
    private final boolean json;

    Output(PrintStream out, boolean json) {
        this.out = out;
        this.json = json;
    }

    boolean json() {
        return json;
    }

    /** One object: as YAML, or as JSON. */
    void show(JsonNode value) {
        out.print(json ? Json.pretty(value) + "\n" : Json.yaml(value));
    }

    /** A list: a table of {@code columns}, or the JSON array. */
    void list(JsonNode array, List<Column> columns) {
        if (json) {
            out.println(Json.pretty(array));
            return;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(columns.stream().map(Column::header).toArray(String[]::new));
        array.forEach(e -> rows.add(columns.stream().map(c -> c.value().apply(e)).toArray(String[]::new)));
        int[] widths = new int[columns.size()];
        rows.forEach(r -> {
            for (int i = 0; i < r.length; i++) {
                widths[i] = Math.max(widths[i], r[i].length());
            }
        });
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.length; i++) {
                line.append(i == r.length - 1 ? r[i] : String.format("%-" + widths[i] + "s  ", r[i]));
            }
            out.println(line.toString().stripTrailing());
        }
    }

    /** A line of text for people; with JSON output, {@code value} instead. */
    void result(String text, JsonNode value) {
        out.println(json ? Json.pretty(value) : text);
    }

    /** A field as text, {@code -} when absent or null. */
    static String text(JsonNode node, String field) {
        JsonNode v = node.path(field);
        return v.isMissingNode() || v.isNull() || v.asText().isEmpty() ? "-" : v.asText();
    }

    /** An object's entries as {@code k=v,k=v}, {@code -} when empty; a list's elements joined by commas. */
    static String pairs(JsonNode node) {
        StringJoiner s = new StringJoiner(",");
        if (node.isArray()) {
            node.forEach(e -> s.add(e.asText()));
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            s.add(e.getKey() + "=" + (e.getValue().isArray() ? pairs(e.getValue()).replace(',', ' ') : e.getValue().asText()));
        }
        return s.length() == 0 ? "-" : s.toString();
    }
}
