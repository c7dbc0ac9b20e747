package dev.deploykit.store.postgres;

import dev.deploykit.Action;
import dev.deploykit.Artifact;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployPlan;
import dev.deploykit.HealthCheck;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.StoreException;
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
 * a {@link DeployPlan}, built only through its validating builder, has an explicit codec so that a
 * stored plan is rebuilt, and validated, the same way a new one is.
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
            default -> throw new StoreException("unknown stored event kind '" + kind + "'");
        };
        return read(json, type);
    }

    // ---- plans ----

    static String plan(DeployPlan plan) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("name", plan.name());
        n.set("action", action(plan.action()));
        ObjectNode target = n.putObject("target");
        target.put("all", plan.target().all());
        strings(target.putArray("groups"), plan.target().groups());
        strings(target.putArray("servers"), plan.target().servers());
        target.set("selector", MAPPER.valueToTree(plan.target().selector().matchLabels()));
        strings(target.putArray("exclude"), plan.target().exclude());
        size(n.putObject("canary"), plan.canary());
        size(n.putObject("batch"), plan.batch());
        n.put("concurrency", plan.concurrency());
        n.put("pauseBetweenBatchesMillis", plan.pauseBetweenBatches().toMillis());
        n.put("manualPromote", plan.manualPromote());
        size(n.putObject("maxFailed"), plan.maxFailed());
        n.put("batchFailureMode", plan.batchFailureMode().name());
        n.put("rollbackOnFailure", plan.rollbackOnFailure());
        plan.beforeHooks().forEach(c -> n.withArray("beforeHooks").add(command(c)));
        plan.afterHooks().forEach(c -> n.withArray("afterHooks").add(command(c)));
        if (plan.healthCheck() != null) {
            ObjectNode h = n.putObject("healthCheck");
            if (plan.healthCheck().command() != null) {
                h.set("command", command(plan.healthCheck().command()));
            }
            h.put("retries", plan.healthCheck().retries());
            h.put("intervalMillis", plan.healthCheck().interval().toMillis());
        }
        n.put("stepTimeoutMillis", plan.stepTimeout().toMillis());
        return write(n);
    }

    static DeployPlan plan(String json) {
        JsonNode n;
        try {
            n = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new StoreException("cannot decode a stored plan: " + e.getMessage(), e, false);
        }
        DeployPlan.Builder b = DeployPlan.builder().name(n.path("name").asText()).action(action(n.get("action")));
        JsonNode t = n.get("target");
        if (t.path("all").asBoolean()) {
            b.targetAll();
        }
        b.targetGroups(strings(t.get("groups")).toArray(String[]::new));
        b.targetServers(strings(t.get("servers")).toArray(String[]::new));
        Map<String, String> selector = new LinkedHashMap<>();
        t.path("selector").fields().forEachRemaining(e -> selector.put(e.getKey(), e.getValue().asText()));
        if (!selector.isEmpty()) {
            b.targetSelector(String.join(",", selector.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList()));
        }
        b.exclude(strings(t.get("exclude")).toArray(String[]::new));
        b.canary(size(n.get("canary"))).batch(size(n.get("batch"))).concurrency(n.path("concurrency").asInt())
                .pauseBetweenBatches(Duration.ofMillis(n.path("pauseBetweenBatchesMillis").asLong()))
                .manualPromote(n.path("manualPromote").asBoolean()).maxFailed(size(n.get("maxFailed")))
                .batchFailureMode(DeployPlan.BatchFailureMode.valueOf(n.path("batchFailureMode").asText()))
                .rollbackOnFailure(n.path("rollbackOnFailure").asBoolean())
                .stepTimeout(Duration.ofMillis(n.path("stepTimeoutMillis").asLong()));
        n.path("beforeHooks").forEach(c -> b.beforeHook(command(c)));
        n.path("afterHooks").forEach(c -> b.afterHook(command(c)));
        JsonNode h = n.get("healthCheck");
        if (h != null) {
            b.healthCheck(new HealthCheck(h.has("command") ? command(h.get("command")) : null, h.path("retries").asInt(),
                    Duration.ofMillis(h.path("intervalMillis").asLong())));
        }
        return b.build();
    }

    // ---- script sets: {"name": ..., "scripts": [{"name": ..., "command": ...}]}, inside a plan and saved ----

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

    private static ObjectNode action(Action action) {
        ObjectNode a = MAPPER.createObjectNode();
        if (action instanceof Action.Install i) {
            a.put("type", "install").put("package", i.packageName()).put("version", i.version());
        } else if (action instanceof Action.Remove r) {
            a.put("type", "remove").put("package", r.packageName());
        } else if (action instanceof Action.Rollback r) {
            a.put("type", "rollback").put("deployment", r.deploymentId());
        } else if (action instanceof Action.RunScripts s) {
            a.put("type", "scripts");
            a.setAll(scriptSetNode(s.scripts()));
        } else if (action instanceof Action.RunStoredScripts s) {
            a.put("type", "storedScripts").put("name", s.name()).put("version", s.version());
        }
        return a;
    }

    private static Action action(JsonNode a) {
        return switch (a.path("type").asText()) {
            case "install" -> Action.install(a.path("package").asText(), a.path("version").asText());
            case "remove" -> Action.remove(a.path("package").asText());
            case "rollback" -> Action.rollback(a.path("deployment").asText());
            case "scripts" -> Action.runScripts(scriptSet(a));
            case "storedScripts" -> Action.runScripts(a.path("name").asText(), a.path("version").asText());
            default -> throw new StoreException("unknown stored action type '" + a.path("type").asText() + "'");
        };
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

    private static void size(ObjectNode n, BatchSize size) {
        n.put("count", size.count()).put("percent", size.percent());
    }

    private static BatchSize size(JsonNode n) {
        return new BatchSize(n.path("count").asInt(), n.path("percent").asInt());
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
