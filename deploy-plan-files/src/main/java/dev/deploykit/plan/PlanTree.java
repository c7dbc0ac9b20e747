package dev.deploykit.plan;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import dev.deploykit.PlanValidationException;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.HashMap;
import java.util.Map;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * A parsed plan file: its values as a Jackson tree, and where each value and key was written, by
 * path ({@code rollout.batch}, {@code target.groups[1]}). Parsing refuses what a plan file never
 * needs and hostile input uses: nesting deeper than {@link PlanFiles#MAX_DEPTH}, YAML anchors and
 * aliases (Jackson hands an alias over as the anchor's name, so a limit on their expansion would not
 * apply; refusing them is what keeps an alias bomb out), tags, duplicate keys and a second document.
 * Every failure is a {@link PlanFileException}. Immutable once built.
 */
final class PlanTree {
    record Position(int line, int column) {
        static final Position START = new Position(1, 1);
    }

    private static final java.util.regex.Pattern JACKSON_LOCATION =
            java.util.regex.Pattern.compile("\\[Source: [^;\\]]*; line: (\\d+), column: (\\d+)]");

    private final String source;
    private final JsonNode root;
    private final Map<String, Position> values = new HashMap<>();
    private final Map<String, Position> keys = new HashMap<>();

    private PlanTree(String source, String text, Format format) {
        this.source = source;
        JsonParser parser = null;
        try (JsonParser p = format.factory.createParser(text)) {
            parser = p;
            if (p.nextToken() == null) {
                throw error(Position.START, "", "the file is empty");
            }
            root = node(p, "", 1);
            if (p.nextToken() != null) {
                throw error(position(p.currentTokenLocation()), "", "a plan file holds one document, but a second one starts here");
            }
        } catch (JsonProcessingException | YAMLException e) {
            throw syntaxError(e, parser);
        } catch (IOException e) {
            throw new PlanFileException(source, 0, 0, "", "cannot be read: " + e.getMessage(), e);
        }
    }

    static PlanTree parse(String text, String source, Format format) {
        return new PlanTree(source, text, format);
    }

    String source() {
        return source;
    }

    JsonNode root() {
        return root;
    }

    private JsonNode node(JsonParser p, String path, int depth) throws IOException {
        Position at = position(p.currentTokenLocation());
        if (p instanceof YAMLParser yaml) {
            if (yaml.isCurrentAlias() || yaml.getObjectId() != null) {
                throw error(at, path, "YAML anchors and aliases (&name, *name) are not allowed in a plan file: write the value out");
            }
            if (yaml.getTypeId() != null) {
                throw error(at, path, "YAML tags (" + yaml.getTypeId() + ") are not allowed in a plan file");
            }
        }
        values.put(path, at);
        JsonToken token = p.currentToken();
        if ((token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) && depth > PlanFiles.MAX_DEPTH) {
            throw error(at, "", "nested deeper than " + PlanFiles.MAX_DEPTH + " levels");
        }
        return switch (token) {
            case START_OBJECT -> object(p, path, depth);
            case START_ARRAY -> {
                ArrayNode array = JsonNodeFactory.instance.arrayNode();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    array.add(node(p, path + "[" + array.size() + "]", depth + 1));
                }
                yield array;
            }
            case VALUE_STRING -> TextNode.valueOf(p.getText());
            case VALUE_NUMBER_INT -> JsonNodeFactory.instance.numberNode(p.getBigIntegerValue());
            case VALUE_NUMBER_FLOAT -> decimal(p.getText(), p);
            case VALUE_TRUE, VALUE_FALSE -> BooleanNode.valueOf(p.getBooleanValue());
            case VALUE_NULL -> NullNode.getInstance();
            default -> throw error(at, path, "unsupported value '" + p.getText() + "'");
        };
    }

    private ObjectNode object(JsonParser p, String path, int depth) throws IOException {
        ObjectNode object = JsonNodeFactory.instance.objectNode();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            String child = child(path, key);
            Position at = position(p.currentTokenLocation());
            if (object.has(key)) {
                Position first = keys.get(child);
                throw error(at, child, "duplicate key '" + key + "' (first at " + first.line() + ":" + first.column() + ")");
            }
            keys.put(child, at);
            p.nextToken();
            object.set(key, node(p, child, depth + 1));
        }
        return object;
    }

    /** The number as written ({@code 2.10} stays {@code 2.10} in messages); {@code .inf} and {@code .nan} as doubles. */
    private static JsonNode decimal(String text, JsonParser p) throws IOException {
        try {
            return DecimalNode.valueOf(new BigDecimal(text));
        } catch (NumberFormatException e) {
            return DoubleNode.valueOf(p.getDoubleValue());
        }
    }

    static String child(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** An error at the value of {@code path}, or at its nearest enclosing value that was written. */
    PlanFileException error(String path, String reason) {
        return error(valuePosition(path), path, reason);
    }

    /** An error at the key of {@code path} (an unknown field), or at its value when it has no key. */
    PlanFileException keyError(String path, String reason) {
        Position at = keys.get(path);
        return at != null ? error(at, path, reason) : error(path, reason);
    }

    private Position valuePosition(String path) {
        for (String p = path; ; p = parent(p)) {
            Position at = values.get(p);
            if (at != null) {
                return at;
            }
            if (p.isEmpty()) {
                return Position.START;
            }
        }
    }

    private static String parent(String path) {
        int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
        return cut < 0 ? "" : path.substring(0, cut);
    }

    /**
     * The error of {@code e} at the field it names, in the file's terms: the builder's
     * {@code rollout.batchPercent} is the file's {@code rollout.batch}, and an unknown group points
     * at that group's element of {@code target.groups}.
     */
    PlanFileException locate(PlanValidationException e) {
        String path = e.field();
        if (!values.containsKey(path) && path.matches(".*(Percent|Count)")) {
            path = path.replaceAll("(Percent|Count)$", "");
        }
        JsonNode list = find(path);
        if (e.value() != null && list != null && list.isArray()) {
            for (int i = 0; i < list.size(); i++) {
                if (e.value().equals(list.get(i).textValue())) {
                    path = path + "[" + i + "]";
                    break;
                }
            }
        }
        String prefix = e.field() + ": ";
        String reason = e.getMessage().startsWith(prefix) ? e.getMessage().substring(prefix.length()) : e.getMessage();
        return new PlanFileException(source, valuePosition(path).line(), valuePosition(path).column(), path, reason, e);
    }

    /** The value at a dotted path of fields (no list indexes), or null. */
    private JsonNode find(String path) {
        JsonNode node = root;
        for (String key : path.split("\\.")) {
            node = node == null ? null : node.get(key);
        }
        return node;
    }

    private PlanFileException error(Position at, String path, String reason) {
        return new PlanFileException(source, at.line(), at.column(), path, reason, null);
    }

    private PlanFileException syntaxError(Exception e, JsonParser p) {
        Throwable marked = e;
        while (marked != null && !(marked instanceof MarkedYAMLException)) {
            marked = marked.getCause();
        }
        if (marked instanceof MarkedYAMLException yaml && yaml.getProblemMark() != null) {
            String problem = String.valueOf(yaml.getProblem());
            String reason = problem.contains("\\t(TAB)")
                    ? "tab character: YAML indents with spaces only" : "YAML syntax: " + problem;
            return new PlanFileException(source, yaml.getProblemMark().getLine() + 1, yaml.getProblemMark().getColumn() + 1, "",
                    reason, e);
        }
        JsonLocation location = e instanceof JsonProcessingException j && j.getLocation() != null ? j.getLocation()
                : p != null ? p.currentLocation() : null;
        Position at = location != null ? position(location) : Position.START;
        String reason = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        reason = JACKSON_LOCATION.matcher(reason).replaceAll("$1:$2");   // the position is already in front
        return new PlanFileException(source, at.line(), at.column(), "", "syntax: " + reason, e);
    }

    private static Position position(JsonLocation location) {
        return new Position(Math.max(1, location.getLineNr()), Math.max(1, location.getColumnNr()));
    }
}
