package dev.deploykit.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.deploykit.DeployEvent;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * JSON in the server API's shapes. A {@link DeployEvent} is its record's fields plus {@code type},
 * the record's simple name, as the API's event stream sends it; console mode writes the same, so a
 * script reads one format from either mode. Unknown fields are ignored, so a newer server does not
 * break an older CLI. Thread-safe.
 */
final class Json {
    static final ObjectMapper MAPPER = JsonMapper.builder().addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
    private static final Map<String, Class<?>> EVENT_TYPES = Arrays.stream(DeployEvent.class.getPermittedSubclasses())
            .collect(Collectors.toMap(Class::getSimpleName, Function.identity()));

    private Json() {}

    /** Parses {@code text}; what is not JSON is an error naming {@code what}. */
    static JsonNode read(String text, String what) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new CliException(ExitCode.UNAVAILABLE, what + " is not JSON: " + e.getOriginalMessage());
        }
    }

    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    static String pretty(JsonNode value) {
        return value.toPrettyString();
    }

    static String yaml(JsonNode value) {
        try {
            return YAML.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write YAML", e);
        }
    }

    /** The event as the API writes it. */
    static ObjectNode event(DeployEvent e) {
        ObjectNode node = MAPPER.valueToTree(e);
        node.put("type", e.getClass().getSimpleName());
        return node;
    }

    /** The event the API wrote as {@code node}; empty for a kind of event this CLI does not know. */
    static Optional<DeployEvent> event(JsonNode node) {
        Class<?> type = EVENT_TYPES.get(node.path("type").asText());
        if (type == null) {
            return Optional.empty();
        }
        try {
            return Optional.of((DeployEvent) MAPPER.treeToValue(node, type));
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new CliException(ExitCode.UNAVAILABLE, "the server sent a " + type.getSimpleName() + " event this CLI cannot read: "
                    + e.getMessage());
        }
    }
}
