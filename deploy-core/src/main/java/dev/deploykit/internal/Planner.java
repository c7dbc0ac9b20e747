package dev.deploykit.internal;

import dev.deploykit.Action;
import dev.deploykit.DeployPlan;
import dev.deploykit.NodeTask;
import dev.deploykit.Package;
import dev.deploykit.PlanValidationException;
import dev.deploykit.ScriptSet;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.Target;
import dev.deploykit.spi.Store;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Turns a plan into concrete work against the store: the target servers, the batches, and each
 * node's goal. Preview and start both call this, which is what makes a preview agree with the run.
 */
final class Planner {
    /**
     * The plan resolved: servers by id, batches of ids, a goal per server id, and the servers the
     * target matched but that were left out (cordoned ones), by id, with the reason.
     */
    record Resolved(List<Server> servers, List<List<String>> batches, boolean canary, Map<String, NodeGoal> goals,
            Map<String, String> leftOut) {}

    /** Why a cordoned server that a group, selector or {@code targetAll()} matched is not in the deployment. */
    static String cordonedReason(String serverId) {
        return "server " + serverId + " is cordoned: left out of new deployments (uncordon it to include it)";
    }

    private final Store store;
    private final Set<String> transports;
    private final Set<String> formats;

    Planner(Store store, Set<String> transports, Set<String> formats) {
        this.store = store;
        this.transports = transports;
        this.formats = formats;
    }

    Resolved resolve(DeployPlan plan) {
        if (plan.isStrategyOnly()) {
            throw new PlanValidationException("action", "must be set: a strategy from DeployPlan.strategy() runs only once "
                    + "an action is filled in (a pin does that: desired().pin(...))");
        }
        Map<String, String> leftOut = new TreeMap<>();
        List<Server> servers = targets(plan.target(), leftOut);
        for (Server s : servers) {
            if (!transports.contains(s.binding().scheme())) {
                throw new PlanValidationException("target", "server " + s.id() + " is bound to transport '"
                        + s.binding().scheme() + "', which is not registered; registered: " + transports);
            }
        }
        Map<String, NodeGoal> goals = goals(plan.action(), servers);
        int canary = plan.canary().roundUp(servers.size());
        return new Resolved(servers, batches(servers.stream().map(Server::id).toList(), canary, plan.batch().roundUp(servers.size())),
                canary > 0, goals, Map.copyOf(leftOut));
    }

    /**
     * The goals of a stored plan for these servers, as when it started (used to resume it). A server
     * removed since has no goal: its node task fails when its turn comes, and the rest goes on.
     */
    Map<String, NodeGoal> goalsFor(DeployPlan plan, List<String> serverIds) {
        List<Server> servers = serverIds.stream().map(store::server).flatMap(Optional::stream).toList();
        return goals(plan.action(), servers);
    }

    /**
     * Canary first (its own batch), then the rest in batches of {@code batchSize} in server id order;
     * the last batch takes what is left.
     */
    static List<List<String>> batches(List<String> ids, int canary, int batchSize) {
        List<List<String>> batches = new ArrayList<>();
        if (canary > 0) {
            batches.add(ids.subList(0, canary));
        }
        for (int i = canary; i < ids.size(); i += batchSize) {
            batches.add(ids.subList(i, Math.min(ids.size(), i + batchSize)));
        }
        return batches;
    }

    private List<Server> targets(Target target, Map<String, String> leftOut) {
        Map<String, Server> all = new TreeMap<>();
        store.servers().forEach(s -> all.put(s.id(), s));
        Map<String, Server> chosen = new TreeMap<>();
        if (target.all()) {
            chosen.putAll(all);
        }
        for (String name : target.groups()) {
            ServerGroup group = store.group(name)
                    .orElseThrow(() -> new PlanValidationException("target.groups", name, "unknown group '" + name + "'"));
            all.values().stream().filter(group::contains).forEach(s -> chosen.put(s.id(), s));
        }
        for (String id : target.servers()) {
            Server s = all.get(id);
            if (s == null) {
                throw new PlanValidationException("target.servers", id, "unknown server '" + id + "'");
            }
            if (s.cordoned()) {
                throw new PlanValidationException("target.servers", id, "server '" + id + "' is cordoned; uncordon it "
                        + "(servers().uncordon(\"" + id + "\")) before deploying to it by name");
            }
            chosen.put(id, s);
        }
        all.values().stream().filter(target.selector()::matches).forEach(s -> chosen.put(s.id(), s));
        for (String id : target.exclude()) {
            if (!all.containsKey(id)) {
                throw new PlanValidationException("target.exclude", id, "unknown server '" + id + "'");
            }
            chosen.remove(id);
        }
        chosen.values().removeIf(s -> {
            if (s.cordoned()) {
                leftOut.put(s.id(), cordonedReason(s.id()));
            }
            return s.cordoned();
        });
        if (chosen.isEmpty()) {
            throw new PlanValidationException("target", leftOut.isEmpty() ? "matches no server"
                    : "matches no server that is not cordoned (cordoned: " + String.join(", ", leftOut.keySet()) + ")");
        }
        return List.copyOf(chosen.values());
    }

    private Map<String, NodeGoal> goals(Action action, List<Server> servers) {
        Map<String, NodeGoal> goals = new LinkedHashMap<>();
        if (action instanceof Action.Install install) {
            Package pkg = store.findPackage(install.packageName(), install.version())
                    .orElseThrow(() -> new PlanValidationException("action", "package " + install.packageName() + " "
                            + install.version() + " is not published"));
            requireFormat(pkg.format());
            servers.forEach(s -> goals.put(s.id(), new NodeGoal.InstallGoal(pkg)));
        } else if (action instanceof Action.Remove remove) {
            String format = formatOf(remove.packageName());
            servers.forEach(s -> goals.put(s.id(), new NodeGoal.RemoveGoal(remove.packageName(), format, remove.purge())));
        } else if (action instanceof Action.RunScripts scripts) {
            servers.forEach(s -> goals.put(s.id(), new NodeGoal.ScriptsGoal(scripts.scripts(), null)));
        } else if (action instanceof Action.RunStoredScripts stored) {
            ScriptSet set = store.scriptSet(stored.name(), stored.version())
                    .orElseThrow(() -> new PlanValidationException("action", "script set " + stored.name() + " " + stored.version()
                            + " is not saved; saved versions: " + store.scriptSetVersions(stored.name())));
            servers.forEach(s -> goals.put(s.id(), new NodeGoal.ScriptsGoal(set, stored.version())));
        } else if (action instanceof Action.Rollback rollback) {
            String pkgName = packageName(rollback);
            String format = formatOf(pkgName);
            Map<String, NodeTask> original = new LinkedHashMap<>();
            store.tasks(rollback.deploymentId()).forEach(t -> original.put(t.serverId(), t));
            for (Server s : servers) {
                goals.put(s.id(), rollbackGoal(original.get(s.id()), pkgName, format));
            }
        }
        return goals;
    }

    /** The goal that undoes {@code task}: its previous version, or removal when there was none. */
    NodeGoal rollbackGoal(NodeTask task, String pkgName, String format) {
        if (task == null || !task.changed()) {
            return new NodeGoal.NoGoal("not changed by the deployment being rolled back");
        }
        if (task.previousVersion() == null) {
            return new NodeGoal.RemoveGoal(pkgName, format, false);
        }
        Package previous = store.findPackage(pkgName, task.previousVersion())
                .orElseThrow(() -> new PlanValidationException("action", "cannot roll " + task.serverId() + " back to "
                        + pkgName + " " + task.previousVersion() + ": that version is no longer published"));
        return new NodeGoal.InstallGoal(previous);
    }

    /** The package an install, remove or (recursively) rollback deployment is about. */
    String packageName(Action.Rollback rollback) {
        var record = store.deployment(rollback.deploymentId())
                .orElseThrow(() -> new PlanValidationException("action", "unknown deployment '" + rollback.deploymentId() + "'"));
        Action original = record.plan().action();
        if (original instanceof Action.Install i) {
            return i.packageName();
        }
        if (original instanceof Action.Remove r) {
            return r.packageName();
        }
        if (original instanceof Action.Rollback r) {
            return packageName(r);
        }
        throw new PlanValidationException("action", "deployment " + rollback.deploymentId() + " ran scripts; scripts cannot be rolled back");
    }

    private String formatOf(String packageName) {
        List<Package> versions = store.packageVersions(packageName);
        if (versions.isEmpty()) {
            throw new PlanValidationException("action", "package " + packageName + " was never published, so its format is unknown");
        }
        return requireFormat(versions.get(0).format());
    }

    private String requireFormat(String format) {
        if (!formats.contains(format)) {
            throw new PlanValidationException("action", "package format '" + format + "' is not registered");
        }
        return format;
    }
}
