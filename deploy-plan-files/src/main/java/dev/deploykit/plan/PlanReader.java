package dev.deploykit.plan;

import com.fasterxml.jackson.databind.JsonNode;
import dev.deploykit.Action;
import dev.deploykit.BatchSize;
import dev.deploykit.Command;
import dev.deploykit.DeployPlan;
import dev.deploykit.DispatchWindow;
import dev.deploykit.HealthCheck;
import dev.deploykit.LabelSelector;
import dev.deploykit.PlanValidationException;
import dev.deploykit.Script;
import dev.deploykit.ScriptSet;
import dev.deploykit.Secret;
import dev.deploykit.Target;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds a {@link DeployPlan} from a {@link PlanTree} through the plan's validating builder. A field
 * that is absent keeps the builder's default; every error names the field's path and points at the
 * value in the file. Stateless apart from the tree; one instance per read.
 */
final class PlanReader {
    /**
     * The fields of each kind of map in a plan file, in the order the writer writes them. Anything
     * else is an unknown field; {@code plan.schema.json} lists exactly these (a test holds it to that).
     */
    static final Map<String, List<String>> FIELDS = Map.ofEntries(
            Map.entry("plan", List.of("name", "action", "target", "rollout", "failurePolicy", "hooks", "healthCheck", "stepTimeout", "window")),
            Map.entry("action", List.of("install", "remove", "runScripts", "rollback")),
            Map.entry("install", List.of("package", "version")),
            Map.entry("remove", List.of("package", "purge")),
            Map.entry("runScripts", List.of("name", "version", "scripts")),
            Map.entry("script", List.of("name", "command")),
            Map.entry("rollback", List.of("deployment")),
            Map.entry("target", List.of("all", "groups", "servers", "selector", "exclude")),
            Map.entry("rollout", List.of("canary", "batch", "concurrency", "pauseBetweenBatches", "manualPromote")),
            Map.entry("failurePolicy", List.of("maxFailed", "batchFailureMode", "rollbackOnFailure")),
            Map.entry("hooks", List.of("before", "after")),
            Map.entry("healthCheck", List.of("command", "retries", "interval")),
            Map.entry("command", List.of("argv", "env", "cwd", "timeout", "runAs")),
            Map.entry("window", List.of("notBefore", "opens", "length", "days", "zone")));

    private static final Pattern PERCENT = Pattern.compile("(\\d{1,9})%");

    private final PlanTree tree;

    private PlanReader(PlanTree tree) {
        this.tree = tree;
    }

    static DeployPlan read(PlanTree tree) {
        return new PlanReader(tree).plan(new At(tree.root(), ""));
    }

    /** A value in the tree and its path; {@code node} is null for a field that is absent. */
    private record At(JsonNode node, String path) {
        At get(String key) {
            return new At(node.get(key), PlanTree.child(path, key));
        }

        At at(int i) {
            return new At(node.get(i), path + "[" + i + "]");
        }

        boolean present() {
            return node != null;
        }
    }

    private DeployPlan plan(At root) {
        fields(root, "plan");
        DeployPlan.Builder b = DeployPlan.builder();
        optional(root.get("name"), a -> b.name(text(a)));
        optional(root.get("action"), a -> b.action(action(a)));
        optional(root.get("target"), a -> b.target(target(a)));
        optional(root.get("rollout"), a -> rollout(a, b));
        optional(root.get("failurePolicy"), a -> failurePolicy(a, b));
        optional(root.get("hooks"), a -> {
            fields(a, "hooks");
            optional(a.get("before"), l -> commands(l).forEach(b::beforeHook));
            optional(a.get("after"), l -> commands(l).forEach(b::afterHook));
        });
        optional(root.get("healthCheck"), a -> b.healthCheck(healthCheck(a)));
        optional(root.get("stepTimeout"), a -> b.stepTimeout(duration(a)));
        optional(root.get("window"), a -> b.window(window(a)));
        try {
            return b.build();
        } catch (PlanValidationException e) {
            throw tree.locate(e);
        }
    }

    private Action action(At a) {
        fields(a, "action");
        if (a.node().size() != 1) {
            List<String> named = new ArrayList<>();
            a.node().fieldNames().forEachRemaining(named::add);
            throw tree.error(a.path(), "must name exactly one of " + String.join(", ", FIELDS.get("action"))
                    + (named.isEmpty() ? "" : ", but named " + String.join(", ", named)));
        }
        String kind = a.node().fieldNames().next();
        At k = a.get(kind);
        fields(k, kind);
        return switch (kind) {
            case "install" -> {
                String pkg = text(required(k, "package"));
                String version = text(required(k, "version"));
                yield build(k, () -> Action.install(pkg, version));
            }
            case "remove" -> {
                String pkg = text(required(k, "package"));
                boolean purge = k.get("purge").present() && bool(k.get("purge"));
                yield build(k, () -> purge ? Action.purge(pkg) : Action.remove(pkg));
            }
            case "rollback" -> {
                String deployment = text(required(k, "deployment"));
                yield build(k, () -> Action.rollback(deployment));
            }
            default -> runScripts(k);
        };
    }

    /** {@code {name, version}}: a saved script set; {@code {name, scripts}}: one given inline. */
    private Action runScripts(At k) {
        String name = text(required(k, "name"));
        At version = k.get("version");
        At scripts = k.get("scripts");
        if (version.present() == scripts.present()) {
            throw tree.error(k.path(), "give version (a saved script set) or scripts (a set written out here), "
                    + (version.present() ? "not both" : "but it has neither"));
        }
        if (version.present()) {
            String v = text(version);
            return build(k, () -> Action.runScripts(name, v));
        }
        List<Script> list = new ArrayList<>();
        for (At s : list(scripts)) {
            fields(s, "script");
            String scriptName = text(required(s, "name"));
            Command command = command(required(s, "command"));
            list.add(build(s, () -> Script.of(scriptName, command)));
        }
        return build(scripts, () -> Action.runScripts(new ScriptSet(name, list)));
    }

    private Target target(At a) {
        fields(a, "target");
        At all = a.get("all");
        At selector = a.get("selector");
        Map<String, String> labels = selector.present() ? stringMap(selector) : Map.of();
        labels.forEach((key, value) -> build(selector.get(key), () -> new LabelSelector(Map.of(key, value))));
        return new Target(all.present() && bool(all), idSet(a.get("groups")), idSet(a.get("servers")), new LabelSelector(labels),
                idSet(a.get("exclude")));
    }

    private void rollout(At a, DeployPlan.Builder b) {
        fields(a, "rollout");
        optional(a.get("canary"), v -> b.canary(size(v)));
        optional(a.get("batch"), v -> b.batch(size(v)));
        optional(a.get("concurrency"), v -> b.concurrency(integer(v)));
        optional(a.get("pauseBetweenBatches"), v -> b.pauseBetweenBatches(duration(v)));
        optional(a.get("manualPromote"), v -> b.manualPromote(bool(v)));
    }

    private void failurePolicy(At a, DeployPlan.Builder b) {
        fields(a, "failurePolicy");
        optional(a.get("maxFailed"), v -> b.maxFailed(size(v)));
        optional(a.get("batchFailureMode"), v -> b.batchFailureMode(failureMode(v)));
        optional(a.get("rollbackOnFailure"), v -> b.rollbackOnFailure(bool(v)));
    }

    private HealthCheck healthCheck(At a) {
        fields(a, "healthCheck");
        At command = a.get("command");
        Command check = command.present() ? command(command) : null;
        int retries = integer(required(a, "retries"));
        Duration interval = duration(required(a, "interval"));
        return build(a, () -> new HealthCheck(check, retries, interval));
    }

    private List<Command> commands(At a) {
        return list(a).stream().map(this::command).toList();
    }

    /** {@code [argv...]}, or {@code {argv, env, cwd, timeout, runAs}}. */
    private Command command(At a) {
        if (a.node().isArray()) {
            List<String> argv = arguments(a);
            return build(a, () -> Command.of(argv));
        }
        if (!a.node().isObject()) {
            throw tree.error(a.path(), "must be a command: a list of arguments such as [systemctl, restart, app] (never one "
                    + "shell string; for a script write [/bin/sh, -c, 'the script']) or a map with argv, but was " + describe(a.node()));
        }
        fields(a, "command");
        List<String> argv = arguments(required(a, "argv"));
        At envAt = a.get("env");
        Map<String, String> env = envAt.present() ? stringMap(envAt) : Map.of();
        env.forEach((key, value) -> secrets(envAt.get(key), value));
        String cwd = a.get("cwd").present() ? text(a.get("cwd")) : null;
        Duration timeout = a.get("timeout").present() ? duration(a.get("timeout")) : null;
        String runAs = a.get("runAs").present() ? text(a.get("runAs")) : null;
        return build(a, () -> new Command(argv, env, cwd, timeout, runAs));
    }

    private List<String> arguments(At a) {
        List<String> argv = strings(a);
        for (int i = 0; i < argv.size(); i++) {
            secrets(a.at(i), argv.get(i));
        }
        return argv;
    }

    /** A {@code ${secret:NAME}} reference must name a valid secret; the value itself is never in a plan. */
    private void secrets(At a, String text) {
        build(a, () -> Secret.namesIn(text));
    }

    private BatchSize size(At a) {
        JsonNode n = a.node();
        if (n.isIntegralNumber() && n.canConvertToInt()) {
            return BatchSize.count(n.intValue());
        }
        Matcher percent = n.isTextual() ? PERCENT.matcher(n.textValue()) : null;
        if (percent != null && percent.matches()) {
            return BatchSize.percent(Integer.parseInt(percent.group(1)));
        }
        throw tree.error(a.path(), "must be a count such as 3 or a percent such as '25%', but was " + describe(n));
    }

    private DeployPlan.BatchFailureMode failureMode(At a) {
        String mode = text(a);
        return Arrays.stream(DeployPlan.BatchFailureMode.values()).filter(m -> m.name().equals(mode)).findFirst()
                .orElseThrow(() -> tree.error(a.path(), "must be one of " + Arrays.toString(DeployPlan.BatchFailureMode.values())
                        + ", but was '" + mode + "'"));
    }

    /** {@code {notBefore: 2026-12-05T00:00:00Z, opens: "02:00", length: 2h, days: [SAT, SUN], zone: Asia/Shanghai}}. */
    private DispatchWindow window(At a) {
        fields(a, "window");
        At notBefore = a.get("notBefore");
        At opens = a.get("opens");
        At zone = a.get("zone");
        Instant start = notBefore.present() ? build(notBefore, () -> parsed(() -> Instant.parse(text(notBefore)),
                "an ISO-8601 instant such as 2026-12-05T02:00:00Z")) : null;
        LocalTime opening = opens.present() ? build(opens, () -> parsed(() -> LocalTime.parse(text(opens)), "a time of day such as \"02:00\""))
                : null;
        Duration length = a.get("length").present() ? duration(a.get("length")) : null;
        Set<DayOfWeek> days = new LinkedHashSet<>();
        if (a.get("days").present()) {
            for (At d : list(a.get("days"))) {
                String day = text(d);
                days.add(Arrays.stream(DayOfWeek.values()).filter(w -> w.name().startsWith(day) && day.length() >= 3).findFirst()
                        .orElseThrow(() -> tree.error(d.path(), "must be a day such as MON or MONDAY, but was '" + day + "'")));
            }
        }
        ZoneId in = zone.present() ? build(zone, () -> parsed(() -> ZoneId.of(text(zone)), "a zone such as UTC or Asia/Shanghai"))
                : ZoneOffset.UTC;
        return build(a, () -> new DispatchWindow(start, opening, length, days, opening == null ? null : in));
    }

    /** {@code parse}'s value, or an IllegalArgumentException saying what was expected. */
    private static <T> T parsed(Supplier<T> parse, String expected) {
        try {
            return parse.get();
        } catch (java.time.DateTimeException e) {
            throw new IllegalArgumentException("must be " + expected + " (" + e.getMessage() + ")", e);
        }
    }

    private Duration duration(At a) {
        if (!a.node().isTextual()) {
            throw tree.error(a.path(), "must be " + Durations.SYNTAX + ", but was " + describe(a.node()));
        }
        return build(a, () -> Durations.parse(a.node().textValue()));
    }

    private String text(At a) {
        if (!a.node().isTextual()) {
            String hint = a.node().isNumber() || a.node().isBoolean() ? " (quote it: \"" + a.node().asText() + "\")" : "";
            throw tree.error(a.path(), "must be a string, but was " + describe(a.node()) + hint);
        }
        return a.node().textValue();
    }

    private int integer(At a) {
        if (!a.node().isIntegralNumber() || !a.node().canConvertToInt()) {
            throw tree.error(a.path(), "must be a whole number, but was " + describe(a.node()));
        }
        return a.node().intValue();
    }

    private boolean bool(At a) {
        if (!a.node().isBoolean()) {
            throw tree.error(a.path(), "must be true or false, but was " + describe(a.node()));
        }
        return a.node().booleanValue();
    }

    private List<At> list(At a) {
        if (!a.node().isArray()) {
            throw tree.error(a.path(), "must be a list, but was " + describe(a.node()));
        }
        List<At> items = new ArrayList<>();
        for (int i = 0; i < a.node().size(); i++) {
            items.add(a.at(i));
        }
        return items;
    }

    private List<String> strings(At a) {
        return list(a).stream().map(this::text).toList();
    }

    /** Names of groups or servers: each at most once, so that a copy-paste slip is caught. */
    private Set<String> idSet(At a) {
        if (!a.present()) {
            return Set.of();
        }
        Set<String> ids = new LinkedHashSet<>();
        List<At> items = list(a);
        for (At item : items) {
            if (!ids.add(text(item))) {
                throw tree.error(item.path(), "'" + item.node().textValue() + "' is listed twice");
            }
        }
        return ids;
    }

    private Map<String, String> stringMap(At a) {
        if (!a.node().isObject()) {
            throw tree.error(a.path(), "must be a map of names to strings, but was " + describe(a.node()));
        }
        Map<String, String> map = new LinkedHashMap<>();
        for (Iterator<String> keys = a.node().fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            map.put(key, text(a.get(key)));
        }
        return map;
    }

    private void fields(At a, String kind) {
        if (!a.node().isObject()) {
            throw tree.error(a.path(), "must be a map with " + String.join(", ", FIELDS.get(kind)) + ", but was " + describe(a.node()));
        }
        List<String> known = FIELDS.get(kind);
        for (Iterator<String> keys = a.node().fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            if (!known.contains(key)) {
                throw tree.keyError(PlanTree.child(a.path(), key), "unknown field; " + (a.path().isEmpty() ? "a plan" : a.path())
                        + " has " + String.join(", ", known));
            }
        }
    }

    private At required(At object, String key) {
        At a = object.get(key);
        if (!a.present()) {
            throw tree.error(a.path(), "is required");
        }
        return a;
    }

    private static void optional(At a, Consumer<At> read) {
        if (a.present()) {
            read.accept(a);
        }
    }

    /**
     * Runs a model constructor for the value at {@code a}, turning its argument errors into errors at
     * that value (or at the deeper field a {@link PlanValidationException} names, such as
     * {@code healthCheck.retries}).
     */
    private <T> T build(At a, Supplier<T> make) {
        try {
            return make.get();
        } catch (PlanValidationException e) {
            PlanFileException located = tree.locate(e);
            if (located.field().startsWith(a.path()) && located.field().length() > a.path().length()) {
                throw located;
            }
            throw tree.error(a.path(), located.reason());
        } catch (IllegalArgumentException e) {
            throw tree.error(a.path(), e.getMessage());
        }
    }

    private static String describe(JsonNode n) {
        if (n.isTextual()) {
            return "the string '" + n.textValue() + "'";
        }
        if (n.isNumber()) {
            return "the number " + n.asText();
        }
        if (n.isBoolean()) {
            return n.asText();
        }
        if (n.isNull()) {
            return "empty (null)";
        }
        return n.isArray() ? "a list" : "a map";
    }
}
