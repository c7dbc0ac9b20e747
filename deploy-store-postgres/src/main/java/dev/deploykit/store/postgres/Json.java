package dev.deploykit.store.postgres;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployPlan;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.StoreException;
import dev.deploykit.plan.PlanFileException;
import dev.deploykit.plan.PlanFiles;
import dev.deploykit.spi.Relay;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON documents for the jsonb columns. Records (servers, groups, metadata, events) map directly;
 * a {@link DeployPlan} is stored as its plan file ({@link PlanFiles#toJson}), so that a stored plan
 * is rebuilt, and validated, the same way a plan read from a file is (plans stored in this store's
 * older shape are rewritten by {@link LegacyPlanDocument} first). Script sets and relayed commands
 * keep their own documents.
 */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private Json() {}

    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new StoreException("cannot encode " + value.getClass().getSimpleName() + ": " + e.getMessage(), e, false);
        }
    }

    static <T> T read(String json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new StoreException("cannot decode a stored " + type.getSimpleName() + ": " + e.getMessage(), e, false);
        }
    }

    // ---- relayed steps ----

    static String step(Relay.Step step) {
        ObjectNode n = MAPPER.createObjectNode();
        if (step instanceof Relay.Exec exec) {
            n.put("type", "exec").put("key", exec.key()).put("fenceScope", exec.fenceScope()).put("fenceEpoch", exec.fenceEpoch())
                    .set("command", command(exec.command()));
        } else {
            n.put("type", "artifact").set("artifact", MAPPER.valueToTree(((Relay.PlaceArtifact) step).artifact()));
        }
        return write(n);
    }

    static Relay.Step step(String json) {
        JsonNode n = read(json, JsonNode.class);
        return switch (n.path("type").asText()) {
            case "exec" -> new Relay.Exec(n.get("key").asText(), command(n.get("command")), n.path("fenceScope").asText(""),
                    n.path("fenceEpoch").asLong(0));
            case "artifact" -> new Relay.PlaceArtifact(MAPPER.convertValue(n.get("artifact"), Artifact.class));
            default -> throw new StoreException("unknown relayed step type '" + n.path("type").asText() + "'");
        };
    }

    // ---- events: the record's fields plus its kind ----

    static String event(DeployEvent event) {
        return write(MAPPER.valueToTree(event));
    }

    static DeployEvent event(String kind, String json) {
        Class<? extends DeployEvent> type = switch (kind) {
            case "DeploymentStatusChanged" -> DeployEvent.DeploymentStatusChanged.class;
            case "BatchStarted" -> DeployEvent.BatchStarted.class;
            case "BatchFinished" -> DeployEvent.BatchFinished.class;
            case "NodeStatusChanged" -> DeployEvent.NodeStatusChanged.class;
            case "NodeOutput" -> DeployEvent.NodeOutput.class;
            case "ArtifactFetched" -> DeployEvent.ArtifactFetched.class;
            default -> throw new StoreException("unknown stored event kind '" + kind + "'");
        };
        return read(json, type);
    }

    // ---- plans: the plan-file JSON form; documents in the store's older shape are read too ----

    static String plan(DeployPlan plan) {
        return PlanFiles.toJson(plan);
    }

    static DeployPlan plan(String json) {
        try {
            JsonNode doc = MAPPER.readTree(json);
            return PlanFiles.fromJson(LegacyPlanDocument.is(doc) ? write(LegacyPlanDocument.toPlanFile(doc)) : json);
        } catch (JsonProcessingException | PlanFileException e) {
            throw new StoreException("cannot decode a stored plan: " + e.getMessage(), e, false);
        }
    }

    // ---- saved script sets: {"name": ..., "scripts": [{"name": ..., "command": ...}]} (a plan's inline set is in its plan file) ----

    static String scriptSet(ScriptSet set) {
        return write(scriptSetNode(set));
    }

    static ScriptSet scriptSet(String json) {
        return scriptSet(read(json, JsonNode.class));
    }

    private static ObjectNode scriptSetNode(ScriptSet set) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("name", set.name());
        for (Script script : set.scripts()) {
            ObjectNode sn = n.withArray("scripts").addObject();
            sn.put("name", script.name());
            sn.set("command", command(script.command()));
        }
        return n;
    }

    private static ScriptSet scriptSet(JsonNode n) {
        List<Script> scripts = new ArrayList<>();
        n.path("scripts").forEach(s -> scripts.add(Script.of(s.path("name").asText(), command(s.get("command")))));
        return new ScriptSet(n.path("name").asText(), scripts);
    }

    private static ObjectNode command(Command c) {
        ObjectNode n = MAPPER.createObjectNode();
        strings(n.putArray("argv"), c.argv());
        n.set("env", MAPPER.valueToTree(c.env()));
        if (c.cwd() != null) {
            n.put("cwd", c.cwd());
        }
        if (c.timeout() != null) {
            n.put("timeoutMillis", c.timeout().toMillis());
        }
        if (c.runAs() != null) {
            n.put("runAs", c.runAs());
        }
        return n;
    }

    private static Command command(JsonNode n) {
        Map<String, String> env = new LinkedHashMap<>();
        n.path("env").fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        return new Command(strings(n.get("argv")), env, n.has("cwd") ? n.get("cwd").asText() : null,
                n.has("timeoutMillis") ? Duration.ofMillis(n.get("timeoutMillis").asLong()) : null,
                n.has("runAs") ? n.get("runAs").asText() : null);
    }

    private static void strings(ArrayNode array, Iterable<String> values) {
        values.forEach(array::add);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null) {
            array.forEach(v -> out.add(v.asText()));
        }
        return out;
    }
}
