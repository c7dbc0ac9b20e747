package dev.deploykit.plan;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployPlan;
import dev.deploykit.DispatchWindow;
import dev.deploykit.HealthCheck;
import dev.deploykit.Script;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A {@link DeployPlan} as a plan-file tree. Every field is written, defaults included, so that a file
 * (or a stored plan) means the same after a later release changes a default. Sets and maps are
 * written sorted, so one plan always gives the same text. Stateless.
 */
final class PlanWriter {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private PlanWriter() {}

    static ObjectNode plan(DeployPlan plan) {
        if (plan.isStrategyOnly()) {
            throw new IllegalArgumentException("a strategy without an action is not a plan file; give it an action first");
        }
        ObjectNode n = NODES.objectNode();
        n.put("name", plan.name());
        n.set("action", action(plan.action()));
        ObjectNode target = n.putObject("target");
        target.put("all", plan.target().all());
        strings(target.putArray("groups"), plan.target().groups().stream().sorted().toList());
        strings(target.putArray("servers"), plan.target().servers().stream().sorted().toList());
        map(target.putObject("selector"), plan.target().selector().matchLabels());
        strings(target.putArray("exclude"), plan.target().exclude().stream().sorted().toList());
        ObjectNode rollout = n.putObject("rollout");
        size(rollout, "canary", plan.canary());
        size(rollout, "batch", plan.batch());
        rollout.put("concurrency", plan.concurrency());
        rollout.put("pauseBetweenBatches", Durations.format(plan.pauseBetweenBatches()));
        rollout.put("manualPromote", plan.manualPromote());
        ObjectNode failure = n.putObject("failurePolicy");
        size(failure, "maxFailed", plan.maxFailed());
        failure.put("batchFailureMode", plan.batchFailureMode().name());
        failure.put("rollbackOnFailure", plan.rollbackOnFailure());
        ObjectNode hooks = n.putObject("hooks");
        commands(hooks.putArray("before"), plan.beforeHooks());
        commands(hooks.putArray("after"), plan.afterHooks());
        if (plan.healthCheck() != null) {
            HealthCheck check = plan.healthCheck();
            ObjectNode h = n.putObject("healthCheck");
            if (check.command() != null) {
                h.set("command", command(check.command()));
            }
            h.put("retries", check.retries());
            h.put("interval", Durations.format(check.interval()));
        }
        n.put("stepTimeout", Durations.format(plan.stepTimeout()));
        DispatchWindow w = plan.window();
        if (!w.equals(DispatchWindow.ALWAYS)) { // written only when set: plans without one read and write as before
            ObjectNode window = n.putObject("window");
            if (w.notBefore() != null) {
                window.put("notBefore", w.notBefore().toString());
            }
            if (w.opens() != null) {
                window.put("opens", w.opens().toString());
                window.put("length", Durations.format(w.length()));
                ArrayNode days = window.putArray("days");
                w.days().stream().sorted().forEach(d -> days.add(d.name().substring(0, 3)));
                window.put("zone", w.zone().getId());
            }
        }
        return n;
    }

    private static ObjectNode action(Action action) {
        ObjectNode a = NODES.objectNode();
        if (action instanceof Action.Install i) {
            a.putObject("install").put("package", i.packageName()).put("version", i.version());
        } else if (action instanceof Action.Remove r) {
            ObjectNode remove = a.putObject("remove").put("package", r.packageName());
            if (r.purge()) {
                remove.put("purge", true);
            }
        } else if (action instanceof Action.Rollback r) {
            a.putObject("rollback").put("deployment", r.deploymentId());
        } else if (action instanceof Action.RunStoredScripts s) {
            a.putObject("runScripts").put("name", s.name()).put("version", s.version());
        } else if (action instanceof Action.RunScripts s) {
            ObjectNode set = a.putObject("runScripts").put("name", s.scripts().name());
            ArrayNode scripts = set.putArray("scripts");
            for (Script script : s.scripts().scripts()) {
                scripts.addObject().put("name", script.name()).set("command", command(script.command()));
            }
        }
        return a;
    }

    /** Always the map form (a bare argv list is read too): a list in a list is hard to read in YAML. */
    private static ObjectNode command(Command c) {
        ObjectNode n = NODES.objectNode();
        strings(n.putArray("argv"), c.argv());
        if (!c.env().isEmpty()) {
            map(n.putObject("env"), c.env());
        }
        if (c.cwd() != null) {
            n.put("cwd", c.cwd());
        }
        if (c.timeout() != null) {
            n.put("timeout", Durations.format(c.timeout()));
        }
        if (c.runAs() != null) {
            n.put("runAs", c.runAs());
        }
        return n;
    }

    private static void commands(ArrayNode array, List<Command> commands) {
        commands.forEach(c -> array.add(command(c)));
    }

    private static void size(ObjectNode n, String field, BatchSize size) {
        if (size.isPercent()) {
            n.put(field, size.percent() + "%");
        } else {
            n.put(field, size.count());
        }
    }

    private static void strings(ArrayNode array, Collection<String> values) {
        values.forEach(array::add);
    }

    private static void map(ObjectNode n, Map<String, String> values) {
        new TreeMap<>(values).forEach(n::put);
    }
}
