package dev.deploykit.store.postgres;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.deploykit.StoreException;

/**
 * Plans stored before plans became plan files, in this store's own document shape
 * ({@code action.type}, {@code canary: {count, percent}}, {@code stepTimeoutMillis}), rewritten
 * into the plan-file shape so that every stored plan, old or new, is read by
 * {@code PlanFiles.fromJson} and rebuilt through the same validating builder. Nothing writes the
 * old shape any more; rows keep it until their deployment or pin is written again. Stateless.
 */
final class LegacyPlanDocument {
    private LegacyPlanDocument() {}

    /** True for a document in the old shape: the old writer always wrote {@code stepTimeoutMillis}, the new never does. */
    static boolean is(JsonNode doc) {
        return doc.has("stepTimeoutMillis");
    }

    /** {@code old} in the plan-file shape: the same fields, grouped and named as in a plan file. */
    static ObjectNode toPlanFile(JsonNode old) {
        ObjectNode plan = Json.MAPPER.createObjectNode();
        plan.put("name", old.path("name").asText());
        plan.set("action", action(old.path("action")));
        plan.set("target", old.path("target").deepCopy());
        ObjectNode rollout = plan.putObject("rollout");
        rollout.set("canary", size(old.path("canary")));
        rollout.set("batch", size(old.path("batch")));
        rollout.put("concurrency", old.path("concurrency").asInt());
        rollout.put("pauseBetweenBatches", old.path("pauseBetweenBatchesMillis").asLong() + "ms");
        rollout.put("manualPromote", old.path("manualPromote").asBoolean());
        ObjectNode failure = plan.putObject("failurePolicy");
        failure.set("maxFailed", size(old.path("maxFailed")));
        failure.put("batchFailureMode", old.path("batchFailureMode").asText());
        failure.put("rollbackOnFailure", old.path("rollbackOnFailure").asBoolean());
        ObjectNode hooks = plan.putObject("hooks");
        ArrayNode before = hooks.putArray("before");
        old.path("beforeHooks").forEach(c -> before.add(command(c)));
        ArrayNode after = hooks.putArray("after");
        old.path("afterHooks").forEach(c -> after.add(command(c)));
        JsonNode check = old.get("healthCheck");
        if (check != null) {
            ObjectNode h = plan.putObject("healthCheck");
            if (check.has("command")) {
                h.set("command", command(check.get("command")));
            }
            h.put("retries", check.path("retries").asInt());
            h.put("interval", check.path("intervalMillis").asLong() + "ms");
        }
        plan.put("stepTimeout", old.path("stepTimeoutMillis").asLong() + "ms");
        return plan;
    }

    private static ObjectNode action(JsonNode a) {
        ObjectNode action = Json.MAPPER.createObjectNode();
        String type = a.path("type").asText();
        switch (type) {
            case "install" -> action.putObject("install").put("package", a.path("package").asText()).put("version", a.path("version").asText());
            case "remove" -> action.putObject("remove").put("package", a.path("package").asText());
            case "rollback" -> action.putObject("rollback").put("deployment", a.path("deployment").asText());
            case "storedScripts" -> action.putObject("runScripts").put("name", a.path("name").asText()).put("version", a.path("version").asText());
            case "scripts" -> {
                ArrayNode scripts = action.putObject("runScripts").put("name", a.path("name").asText()).putArray("scripts");
                a.path("scripts").forEach(s -> scripts.addObject().put("name", s.path("name").asText()).set("command", command(s.get("command"))));
            }
            default -> throw new StoreException("unknown stored action type '" + type + "'");
        }
        return action;
    }

    /** {@code {argv, env, cwd, timeoutMillis, runAs}}: the same, with the timeout as a duration. */
    private static ObjectNode command(JsonNode old) {
        ObjectNode command = old.deepCopy();
        JsonNode millis = command.remove("timeoutMillis");
        if (millis != null) {
            command.put("timeout", millis.asLong() + "ms");
        }
        return command;
    }

    private static JsonNode size(JsonNode old) {
        int percent = old.path("percent").asInt();
        return percent != 0 ? Json.MAPPER.getNodeFactory().textNode(percent + "%") : Json.MAPPER.getNodeFactory().numberNode(old.path("count").asInt());
    }
}
