package dev.deploykit.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.deploykit.DeployEvent;

/** The API's JSON: records as they are, times as ISO-8601 text, events with their kind. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private Json() {}

    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON: " + e.getMessage(), e);
        }
    }

    /** Parses a request body; bad JSON is a 400 naming {@code what} and the position. */
    static JsonNode read(String body, String what) {
        try {
            JsonNode node = MAPPER.readTree(body);
            if (node == null || node.isMissingNode()) {
                throw new ApiProblem(400, "bad request", what + ": the body is empty", null);
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new ApiProblem(400, "bad request", what + ": not JSON at line " + e.getLocation().getLineNr() + ", column "
                    + e.getLocation().getColumnNr() + ": " + e.getOriginalMessage(), null);
        }
    }

    /** A required text field of {@code node}. */
    static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw new ApiProblem(400, "bad request", field + ": required, a string", field);
        }
        return v.asText();
    }

    /** The event's fields plus {@code type}, its kind (e.g. {@code NodeStatusChanged}). */
    static ObjectNode event(DeployEvent e) {
        ObjectNode n = MAPPER.valueToTree(e);
        n.put("type", eventType(e));
        return n;
    }

    static String eventType(DeployEvent e) {
        return e.getClass().getSimpleName();
    }
}
