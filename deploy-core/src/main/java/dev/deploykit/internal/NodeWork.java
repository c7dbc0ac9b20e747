package dev.deploykit.internal;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.ConflictException;
import dev.deploykit.DeployPlan;
import dev.deploykit.Facts;
import dev.deploykit.HealthCheck;
import dev.deploykit.NodeStatus;
import dev.deploykit.NodeTask;
import dev.deploykit.NotFoundException;
import dev.deploykit.Package;
import dev.deploykit.PackageFormatException;
import dev.deploykit.Script;
import dev.deploykit.Server;
import dev.deploykit.TransportException;
import dev.deploykit.spi.ArtifactDelivery;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeContext;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.PackageFormat;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs one node task through its steps: before-hooks, ensure artifact, the action, after-hooks and
 * the health check. The same code runs for every transport; formats supply the commands. One
 * instance per deployment run; {@link #run} is called from many node threads at once.
 */
final class NodeWork {
    /** Output lines of a failed command kept for its node's message. */
    private static final int FAILURE_TAIL_LINES = 5;
    private static final Logger log = LoggerFactory.getLogger(NodeWork.class);

    /** Where a node's progress goes: the deployment run persists it and emits events. */
    interface Reporter {
        NodeTask update(NodeTask task);

        void output(NodeTask task, String stream, String line);

        /** The node has {@code artifact}, come as {@code delivery} says. */
        void delivered(NodeTask task, Artifact artifact, ArtifactDelivery delivery);

        boolean cancelled();

        /** A session is open for this node's task (the run abandons it if the deployment is lost); null when it closed. */
        void session(NodeTask task, NodeSession session);
    }

    /** A step failed; the node's task fails with this message. */
    static final class StepFailed extends Exception {
        StepFailed(String message) {
            super(message, null, false, false);
        }
    }

    /** The deployment was cancelled while this node ran. */
    static final class Cancelled extends Exception {
        Cancelled() {
            super("cancelled", null, false, false);
        }
    }

    private final Engine engine;
    private final DeployPlan plan;
    private final Reporter reporter;

    NodeWork(Engine engine, DeployPlan plan, Reporter reporter) {
        this.engine = engine;
        this.plan = plan;
        this.reporter = reporter;
    }

    /**
     * Takes {@code task} to a terminal status and returns it. With {@code rollback} the goal undoes an
     * earlier change: the recorded previous version is kept, no health check runs, and success is
     * {@link NodeStatus#ROLLED_BACK}.
     */
    NodeTask run(NodeTask task, NodeGoal goal, boolean rollback) {
        MDC.put("server", task.serverId());
        MDC.put("task", task.taskId());
        Step step = new Step(task, rollback ? "rollback:" : "");
        step.packageName = packageName(goal).orElse(null);
        try {
            step.begin("connect");
            Server server = engine.registry().require(task.serverId());
            try (NodeSession session = engine.open(server)) {
                reporter.session(task, session);
                session.fence(task.deploymentId(), engine.store.epoch(task.deploymentId()));
                if (session instanceof RelaySession) {
                    reporter.output(step.task, "stdout", "relayed: the node's agent is connected to another controller, which runs its steps");
                }
                Facts facts = session.facts();
                engine.registry().modify(server.id(), s -> s.withFacts(facts, engine.clock.instant()));
                NodeContext node = new NodeContext(facts, session.root(), null);
                apply(step, session, node, goal, rollback);
            }
            if (rollback) {
                String why = task.message().isEmpty() ? "" : " after: " + task.message();
                return step.finish(NodeStatus.ROLLED_BACK, "rolled back" + why);
            }
            return step.finish(step.skipped ? NodeStatus.SKIPPED : NodeStatus.SUCCEEDED, step.skipped ? step.skipReason : "");
        } catch (StepFailed e) {
            log.warn("node {} failed: {}", task.serverId(), e.getMessage());
            return step.finish(NodeStatus.FAILED, (rollback ? "rollback failed: " : "") + e.getMessage());
        } catch (Cancelled e) {
            return step.finish(NodeStatus.CANCELLED, "cancelled during " + step.task.step());
        } catch (TransportException | PackageFormatException | NotFoundException | ConflictException e) {
            // what a node, its package or its registration can cause; anything else is a bug and must not look like a node failure
            if (reporter.cancelled()) {
                return step.finish(NodeStatus.CANCELLED, "cancelled during " + step.task.step());
            }
            String why = Secrets.mask(e.getMessage(), step.secretValues);
            log.warn("node {} failed: {}: {}", task.serverId(), e.getClass().getSimpleName(), why);
            return step.finish(NodeStatus.FAILED, (rollback ? "rollback failed: " : "") + step.task.step() + ": " + why);
        } finally {
            reporter.session(task, null);
            Thread.interrupted();
            MDC.remove("server");
            MDC.remove("task");
        }
    }

    private void apply(Step step, NodeSession session, NodeContext node, NodeGoal goal, boolean rollback)
            throws StepFailed, Cancelled {
        if (goal instanceof NodeGoal.NoGoal none) {
            step.skip(none.reason());
        } else if (goal instanceof NodeGoal.InstallGoal install) {
            Package pkg = install.pkg();
            PackageFormat format = engine.format(pkg.format());
            requireSupported(format, node.facts());
            step.begin("query");
            String current = query(session, format, node, pkg.name(), step.nextKey());
            // A retried task that already changed the node keeps the version from before the change
            // (rollback needs it) and is applied again rather than skipped: its last try failed.
            boolean reapply = !rollback && step.task.changed();
            if (!rollback && !reapply) {
                step.task = step.task.withPrevious(current, false);
            }
            if (isNoop(goal, current) && !reapply) {
                engine.registry().recordInstalled(step.task.serverId(), pkg.name(), current);
                step.skip("already at " + current);
                return;
            }
            hooks(step, session, "before-hooks", plan.beforeHooks());
            step.begin("ensure-artifact");
            ArtifactDelivery delivery = session.deliver(pkg.artifact(), engine.artifacts);
            delivery.notes().forEach(note -> reporter.output(step.task, "stdout", note));
            reporter.delivered(step.task, pkg.artifact(), delivery);
            String path = delivery.path();
            reporter.output(step.task, "stdout", "artifact sha256:" + pkg.artifact().sha256().substring(0, 12) + " ("
                    + pkg.artifact().size() + " bytes) verified on the node");
            NodeContext withArtifact = new NodeContext(node.facts(), node.root(), path);
            int c = current == null ? 1 : format.versionOrder().compare(pkg.version(), current);
            step.changed(rollback);
            runAll(step, session, c > 0 ? (current == null ? "install" : "upgrade") : c < 0 ? "downgrade" : "reinstall",
                    format.install(withArtifact, pkg, current), format);
            engine.registry().recordInstalled(step.task.serverId(), pkg.name(), pkg.version());
            hooks(step, session, "after-hooks", plan.afterHooks());
            if (!rollback) {
                healthCheck(step, session, format.healthCheck(withArtifact, pkg));
            }
        } else if (goal instanceof NodeGoal.RemoveGoal remove) {
            PackageFormat format = engine.format(remove.format());
            requireSupported(format, node.facts());
            step.begin("query");
            String current = query(session, format, node, remove.packageName(), step.nextKey());
            if (!rollback && !step.task.changed()) {
                step.task = step.task.withPrevious(current, false);
            }
            if (current == null) {
                engine.registry().recordInstalled(step.task.serverId(), remove.packageName(), null);
                step.skip("not installed");
                return;
            }
            hooks(step, session, "before-hooks", plan.beforeHooks());
            step.changed(rollback);
            runAll(step, session, remove.purge() ? "purge" : "remove", remove.purge() ? format.purge(node, remove.packageName(), current)
                    : format.remove(node, remove.packageName(), current), format);
            engine.registry().recordInstalled(step.task.serverId(), remove.packageName(), null);
            hooks(step, session, "after-hooks", plan.afterHooks());
            if (!rollback) {
                healthCheck(step, session, Optional.empty());
            }
        } else if (goal instanceof NodeGoal.ScriptsGoal scripts) {
            hooks(step, session, "before-hooks", plan.beforeHooks());
            step.changed(rollback);
            for (Script script : scripts.scripts().scripts()) {
                runAll(step, session, "script:" + script.name(), List.of(script.command()), null);
            }
            hooks(step, session, "after-hooks", plan.afterHooks());
            healthCheck(step, session, Optional.empty());
        }
    }

    private void hooks(Step step, NodeSession session, String name, List<Command> hooks) throws StepFailed, Cancelled {
        if (!hooks.isEmpty()) {
            runAll(step, session, name, hooks.stream().map(h -> step.inContext(h, session, name)).toList(), null);
        }
    }

    /** Runs {@code commands} in order as step {@code name}; a format, when given, explains failures. */
    private void runAll(Step step, NodeSession session, String name, List<Command> commands, PackageFormat format)
            throws StepFailed, Cancelled {
        step.begin(name);
        for (Command command : commands) {
            ExecResult result = exec(step, session, command);
            if (!result.ok()) {
                String cause = format == null ? "" : format.diagnose(step.tail(result)).map(c -> c + ": ").orElse("");
                throw new StepFailed(name + ": " + cause + step.describe(command, result));
            }
        }
    }

    private static void requireSupported(PackageFormat format, Facts facts) throws StepFailed {
        if (!format.supports(facts)) {
            throw new StepFailed("a " + format.name() + " package cannot be installed on " + facts.osId() + " "
                    + facts.osVersion() + ", a " + facts.packageFamily() + " system");
        }
    }

    private void healthCheck(Step step, NodeSession session, Optional<Command> packageCheck) throws StepFailed, Cancelled {
        HealthCheck check = plan.healthCheck();
        Command command = check != null && check.command() != null ? step.inContext(check.command(), session, "health-check")
                : packageCheck.orElse(null);
        if (command == null) {
            return;
        }
        int retries = check != null ? check.retries() : 0;
        Duration interval = check != null ? check.interval() : Duration.ZERO;
        step.begin("health-check");
        ExecResult last = null;
        for (int attempt = 1; attempt <= retries + 1; attempt++) {
            last = exec(step, session, command);
            if (last.ok()) {
                return;
            }
            if (attempt <= retries) {
                reporter.output(step.task, "stderr", "health check attempt " + attempt + " of " + (retries + 1)
                        + " failed (" + (last.timedOut() ? "timed out" : "exit " + last.exitCode()) + "), retrying in " + interval);
                sleep(interval);
            }
        }
        throw new StepFailed("health-check failed after " + (retries + 1) + " attempt(s): " + step.describe(command, last));
    }

    private ExecResult exec(Step step, NodeSession session, Command command) throws Cancelled {
        if (reporter.cancelled()) {
            throw new Cancelled();
        }
        Command bounded = command.timeout() == null ? command.withTimeout(plan.stepTimeout()) : command;
        NodeTask task = step.task;
        step.lastOutput.clear();
        OutputListener output = (stream, line) -> {
            step.keep(line);
            reporter.output(task, stream, line);
        };
        ExecResult result;
        if (session instanceof RelaySession) {
            // the controller that runs the step resolves its secrets; the store in between carries only references
            result = session.exec(step.nextKey(), bounded, output);
        } else {
            Secrets.Resolved resolved = engine.secrets.resolve(bounded);
            step.secretValues.addAll(resolved.values());
            result = resolved.masked(session.exec(step.nextKey(), resolved.command(), resolved.masking(output)));
        }
        if (reporter.cancelled()) {
            throw new Cancelled();
        }
        step.lastTimeout = bounded.timeout();
        return result;
    }

    private void sleep(Duration interval) throws Cancelled {
        try {
            Thread.sleep(interval.toMillis());
        } catch (InterruptedException e) {
            throw new Cancelled();
        }
    }


    /** The installed version of {@code name} on the node, or null; {@code key} as for {@link NodeSession#exec(String, dev.deploykit.Command, dev.deploykit.spi.OutputListener)}. */
    static String query(NodeSession session, PackageFormat format, NodeContext node, String name, String key) {
        StringBuilder out = new StringBuilder();
        ExecResult result = session.exec(key, format.queryInstalled(node, name), (stream, line) -> {
            if (stream.equals("stdout")) {
                out.append(line).append('\n');
            }
        });
        return format.parseInstalled(result.exitCode(), out.toString());
    }

    /** The package a goal is about, if any. */
    static Optional<String> packageName(NodeGoal goal) {
        if (goal instanceof NodeGoal.InstallGoal i) {
            return Optional.of(i.pkg().name());
        }
        if (goal instanceof NodeGoal.RemoveGoal r) {
            return Optional.of(r.packageName());
        }
        return Optional.empty();
    }

    /** True when a node at {@code current} already satisfies {@code goal}. */
    static boolean isNoop(NodeGoal goal, String current) {
        if (goal instanceof NodeGoal.InstallGoal i) {
            return i.pkg().version().equals(current);
        }
        if (goal instanceof NodeGoal.RemoveGoal) {
            return current == null;
        }
        return goal instanceof NodeGoal.NoGoal;
    }

    /** The task as it moves through steps; each change is reported (persisted and emitted). */
    private final class Step {
        NodeTask task;
        final String prefix;
        boolean skipped;
        String skipReason = "";
        /** Secret values this task's commands used, masked in every message about it. */
        final Set<String> secretValues = new HashSet<>();
        /** The last output lines of the current command (either stream), for its failure message. */
        final java.util.ArrayDeque<String> lastOutput = new java.util.ArrayDeque<>();
        /** The timeout the last command ran under (its own, or the plan's step timeout). */
        Duration lastTimeout;

        synchronized void keep(String line) {
            lastOutput.addLast(line);
            if (lastOutput.size() > FAILURE_TAIL_LINES) {
                lastOutput.removeFirst();
            }
        }

        /** What a failed command did: how it ended and its stderr tail, else its last output lines. */
        synchronized String describe(Command command, ExecResult result) {
            String how = result.timedOut() ? "timed out after " + lastTimeout + "; its process tree was killed"
                    : "exited " + result.exitCode();
            String tail = tail(result);
            return "`" + command + "` " + how + (tail.isEmpty() ? "" : ": " + Secrets.mask(tail, secretValues));
        }

        /** A failed command's stderr tail, else its last output lines (apt-get, say, tells of a held lock on stdout). */
        synchronized String tail(ExecResult result) {
            return !result.stderrTail().isBlank() ? result.stderrTail().strip() : String.join("\n", lastOutput).strip();
        }

        /**
         * A plan's hook or health check with the context every transport gives it: the node's root
         * as working directory (unless the command names one) and {@code DEPLOYKIT_*} variables
         * naming the server, the package, the versions and the phase.
         */
        Command inContext(Command command, NodeSession session, String phase) {
            java.util.Map<String, String> env = new java.util.HashMap<>();
            env.put("DEPLOYKIT_ROOT", session.root());
            env.put("DEPLOYKIT_SERVER", task.serverId());
            env.put("DEPLOYKIT_DEPLOYMENT", task.deploymentId());
            env.put("DEPLOYKIT_PACKAGE", packageName == null ? "" : packageName);
            env.put("DEPLOYKIT_VERSION", task.targetVersion() == null ? "" : task.targetVersion());
            env.put("DEPLOYKIT_PREVIOUS_VERSION", task.previousVersion() == null ? "" : task.previousVersion());
            env.put("DEPLOYKIT_PHASE", prefix + phase);
            env.putAll(command.env());
            Command withEnv = command.withEnv(env);
            return command.cwd() == null ? withEnv.withCwd(session.root()) : withEnv;
        }

        /** The package the goal is about, or null. */
        String packageName;
        private int commands;

        /**
         * The key of the next command this task runs: task id, attempt, and the command's position.
         * A re-run of the same attempt after a controller restart issues the same keys in the same order.
         */
        String nextKey() {
            return task.taskId() + "." + task.attempt() + (prefix.isEmpty() ? "" : ".rollback") + "." + commands++;
        }

        Step(NodeTask task, String prefix) {
            this.task = task;
            this.prefix = prefix;
        }

        void begin(String name) throws Cancelled {
            if (reporter.cancelled()) {
                throw new Cancelled();
            }
            task = reporter.update(task.with(NodeStatus.RUNNING, prefix + name, "", engine.clock.instant()));
        }

        void changed(boolean rollback) {
            if (!rollback) {
                // reported with the next step change
                task = task.withPrevious(task.previousVersion(), true);
            }
        }

        void skip(String reason) {
            skipped = true;
            skipReason = reason;
        }

        NodeTask finish(NodeStatus status, String message) {
            task = reporter.update(task.with(status, task.step(), message, engine.clock.instant()));
            return task;
        }
    }
}
