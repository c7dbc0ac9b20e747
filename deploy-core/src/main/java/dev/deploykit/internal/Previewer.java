package dev.deploykit.internal;

import dev.deploykit.DeployException;
import dev.deploykit.DeployPlan;
import dev.deploykit.Liveness;
import dev.deploykit.LivenessOptions;
import dev.deploykit.NodePreview;
import dev.deploykit.NodePreview.VersionSource;
import dev.deploykit.PreviewOptions;
import dev.deploykit.Server;
import dev.deploykit.SourceChange;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Turns a resolved plan into {@link NodePreview}s: where each node's current version comes from (the
 * stored inventory, and how old it is, or the node itself), which script set would run, and which
 * matched servers are left out. Holds no mutable state; live reads run on the caller's thread.
 */
final class Previewer {
    /** Reads a package's installed version on a node: server, package name, format name. */
    interface LiveQuery {
        String installed(Server server, String packageName, String format);
    }

    private final Instant now;
    private final LivenessOptions liveness;
    private final LiveQuery live;
    private final BiPredicate<String, String> published;
    private final SourceChanges sourceChanges;

    /** {@code published} tells whether a package name and version is published (a rollback could reinstall it). */
    Previewer(Instant now, LivenessOptions liveness, LiveQuery live, BiPredicate<String, String> published, SourceChanges sourceChanges) {
        this.now = now;
        this.liveness = liveness;
        this.live = live;
        this.published = published;
        this.sourceChanges = sourceChanges;
    }

    List<NodePreview> preview(DeployPlan plan, Planner.Resolved resolved, Function<String, Optional<Server>> leftOutServer,
            PreviewOptions options) {
        Map<String, Server> byId = resolved.servers().stream().collect(Collectors.toMap(Server::id, s -> s));
        List<NodePreview> previews = new ArrayList<>();
        for (int b = 0; b < resolved.batches().size(); b++) {
            for (String id : resolved.batches().get(b)) {
                previews.add(node(byId.get(id), resolved.goals().get(id), b, resolved.canary() && b == 0, plan.rollbackOnFailure(),
                        options));
            }
        }
        resolved.leftOut().forEach((id, reason) -> leftOutServer.apply(id).ifPresent(s -> {
            Liveness l = Liveness.of(s, now, liveness);
            previews.add(new NodePreview(id, null, null, false, -1, false, s.cordoned(), reason, VersionSource.INVENTORY,
                    s.lastSeen(), l, null, null, null, null));
        }));
        return previews;
    }

    private NodePreview node(Server server, NodeGoal goal, int batch, boolean canary, boolean rollbackOnFailure, PreviewOptions options) {
        Liveness l = Liveness.of(server, now, liveness);
        Optional<String> pkg = NodeWork.packageName(goal);
        String current = pkg.map(n -> server.inventory().get(n)).orElse(null);
        VersionSource source = VersionSource.INVENTORY;
        String note = l == Liveness.ONLINE ? null : staleNote(server, l);
        if (pkg.isPresent() && options.readLive()) {
            if (l == Liveness.ONLINE) {
                try {
                    current = live.installed(server, pkg.get(), format(goal));
                    source = VersionSource.LIVE;
                    note = "read live from the node";
                } catch (DeployException e) {
                    note = "live read failed (" + e.getMessage() + "): stored inventory used";
                }
            } else {
                note = staleNote(server, l) + ": not read live, the node is " + l;
            }
        }
        String scripts = goal instanceof NodeGoal.ScriptsGoal sg
                ? sg.scripts().name() + (sg.version() == null ? "" : " " + sg.version())
                : null;
        boolean noop = NodeWork.isNoop(goal, current);
        String rollbackNote = rollbackOnFailure && !noop && current != null && pkg.isPresent() && !published.test(pkg.get(), current)
                ? "cannot roll back: " + pkg.get() + " " + current + " (on the node now) is not published, so a failure would leave "
                        + pkg.get() + " " + goal.targetVersion() + "; publish " + current + " to make the rollback possible"
                : null;
        SourceChange change = goal instanceof NodeGoal.InstallGoal i ? sourceChanges.of(i.pkg(), current) : null;
        return new NodePreview(server.id(), current, goal.targetVersion(), noop, batch, canary,
                server.cordoned(), null, source, server.lastSeen(), l, note, scripts, rollbackNote, change);
    }

    private static String format(NodeGoal goal) {
        if (goal instanceof NodeGoal.InstallGoal i) {
            return i.pkg().format();
        }
        return ((NodeGoal.RemoveGoal) goal).format();
    }

    private String staleNote(Server server, Liveness l) {
        return server.lastSeen() == null ? "stale inventory: never seen (" + l + ")"
                : "stale inventory: last seen " + ago(server.lastSeen()) + " ago (" + l + ")";
    }

    /** {@code 42s}, {@code 12m}, {@code 5h}, {@code 3d}: how long before now {@code at} was. */
    private String ago(Instant at) {
        if (at == null) {
            return "never";
        }
        Duration d = Duration.between(at, now);
        if (d.isNegative()) {
            d = Duration.ZERO;
        }
        if (d.toSeconds() < 120) {
            return d.toSeconds() + "s";
        }
        if (d.toMinutes() < 120) {
            return d.toMinutes() + "m";
        }
        return d.toHours() < 48 ? d.toHours() + "h" : d.toDays() + "d";
    }
}
