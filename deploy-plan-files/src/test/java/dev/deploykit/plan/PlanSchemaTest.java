package dev.deploykit.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * plan.schema.json describes exactly the fields the reader accepts: for each kind of map
 * ({@link PlanReader#FIELDS}), the schema's properties are the reader's fields, in the same order.
 */
class PlanSchemaTest {
    @Test
    void schemaPropertiesAreTheReadersFields() throws IOException {
        JsonNode schema = new ObjectMapper().readTree(PlanFiles.schema());
        assertEquals("https://json-schema.org/draft/2020-12/schema", schema.path("$schema").asText());
        Map<String, List<String>> described = new TreeMap<>();
        described.put("plan", names(schema.get("properties")));
        schema.get("$defs").fields().forEachRemaining(def -> {
            JsonNode properties = firstProperties(def.getValue());
            if (properties != null) {
                described.put(def.getKey(), names(properties));
            }
        });
        assertEquals(new TreeMap<>(PlanReader.FIELDS), described);
    }

    /** The {@code properties} of a definition, also when they sit in a {@code oneOf} branch (a command's map form). */
    private static JsonNode firstProperties(JsonNode node) {
        if (node.has("properties")) {
            return node.get("properties");
        }
        for (JsonNode child : node) {
            JsonNode found = child.isContainerNode() ? firstProperties(child) : null;
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    private static List<String> names(JsonNode properties) {
        List<String> names = new ArrayList<>();
        properties.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
