package dev.deploykit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What to do, where, and how. Immutable; built and validated by {@link #builder()}. A plan that
 * builds is a plan that can run: every error names the field and the bad value.
 *
 * <pre>{@code
 * DeployPlan plan = DeployPlan.builder()
 *         .name("web 2.1.0")
 *         .action(Action.install("web-app", "2.1.0"))
 *         .targetGroups("web")
 *         .canary(BatchSize.count(1))
 *         .batch(BatchSize.percent(25))
 *         .maxFailed(BatchSize.count(1))
 *         .rollbackOnFailure(true)
 *         .healthCheck(HealthCheck.of(Command.of("curl", "-fsS", "http://localhost:8080/health"), 5, Duration.ofSeconds(2)))
 *         .build();
 * }</pre>
 *
 * <p>Exact rules for batches, rounding, the failure budget and rollback: {@code docs/plan-semantics.md}.
 */
public final class DeployPlan {

    /** What happens to the rest of a batch once the failure budget is exceeded. */
    public enum BatchFailureMode {
        /** Dispatch no further node, not even within the batch; nodes already running end normally. */
        FAIL_FAST,
        /** Let every node of the current batch run to its end; start no later batch. */
        FINISH_BATCH
    }

    private final String name;
    private final Action action;
    private final Target target;
    private final BatchSize canary;
    private final BatchSize batch;
    private final int concurrency;
    private final Duration pauseBetweenBatches;
    private final boolean manualPromote;
    private final BatchSize maxFailed;
    private final BatchFailureMode batchFailureMode;
    private final boolean rollbackOnFailure;
    private final List<Command> beforeHooks;
    private final List<Command> afterHooks;
    private final HealthCheck healthCheck;
    private final Duration stepTimeout;
    private final DispatchWindow window;

    private DeployPlan(Builder b) {
        this.name = b.name;
        this.action = b.action;
        this.target = new Target(b.all, b.groups, b.servers, b.selector, b.exclude);
        this.canary = b.canary;
        this.batch = b.batch;
        this.concurrency = b.concurrency;
        this.pauseBetweenBatches = b.pauseBetweenBatches;
        this.manualPromote = b.manualPromote;
        this.maxFailed = b.maxFailed;
        this.batchFailureMode = b.batchFailureMode;
        this.rollbackOnFailure = b.rollbackOnFailure;
        this.beforeHooks = List.copyOf(b.beforeHooks);
        this.afterHooks = List.copyOf(b.afterHooks);
        this.healthCheck = b.healthCheck;
        this.stepTimeout = b.stepTimeout;
        this.window = b.window;
    }

    public static Builder builder() {
        return new Builder(false);
    }

    /**
     * A builder for a rollout strategy: the how of a plan (canary, batches, concurrency, failure
     * budget, hooks, health check, rollback, timeouts) without its what and where. Its action and
     * target may stay unset; whoever runs the strategy fills them in, as a pin's reconciler does
     * ({@link DesiredState#pin}). A strategy without an action cannot be started on its own.
     *
     * <pre>{@code
     * DeployPlan strategy = DeployPlan.strategy().canary(BatchSize.count(1)).batch(BatchSize.percent(50))
     *         .maxFailed(BatchSize.count(1)).build();
     * kit.desired().pin("web", "web-app", "2.1.0", strategy);
     * }</pre>
     */
    public static Builder strategy() {
        return new Builder(true);
    }

    /** True for a strategy built by {@link #strategy()} without an action: it cannot run until one is filled in. */
    public boolean isStrategyOnly() {
        return action == null;
    }

    public Builder toBuilder() {
        Builder b = new Builder(false);
        b.name = name;
        b.action = action;
        b.all = target.all();
        b.groups.addAll(target.groups());
        b.servers.addAll(target.servers());
        b.selector = target.selector();
        b.exclude.addAll(target.exclude());
        b.canary = canary;
        b.batch = batch;
        b.concurrency = concurrency;
        b.pauseBetweenBatches = pauseBetweenBatches;
        b.manualPromote = manualPromote;
        b.maxFailed = maxFailed;
        b.batchFailureMode = batchFailureMode;
        b.rollbackOnFailure = rollbackOnFailure;
        b.beforeHooks.addAll(beforeHooks);
        b.afterHooks.addAll(afterHooks);
        b.healthCheck = healthCheck;
        b.stepTimeout = stepTimeout;
        b.window = window;
        return b;
    }

    public String name() {
        return name;
    }

    public Action action() {
        return action;
    }

    public Target target() {
        return target;
    }

    /** Size of the canary batch; {@code count(0)} means no canary. */
    public BatchSize canary() {
        return canary;
    }

    public BatchSize batch() {
        return batch;
    }

    /** Most nodes in flight at once; 0 means the batch size. */
    public int concurrency() {
        return concurrency;
    }

    /** Wait between batches; zero for none. */
    public Duration pauseBetweenBatches() {
        return pauseBetweenBatches;
    }

    /** When true the deployment pauses after the canary batch until {@link Deployment#resume()}. */
    public boolean manualPromote() {
        return manualPromote;
    }

    /** Failures tolerated before the deployment halts; one more failure halts it. */
    public BatchSize maxFailed() {
        return maxFailed;
    }

    public BatchFailureMode batchFailureMode() {
        return batchFailureMode;
    }

    public boolean rollbackOnFailure() {
        return rollbackOnFailure;
    }

    public List<Command> beforeHooks() {
        return beforeHooks;
    }

    public List<Command> afterHooks() {
        return afterHooks;
    }

    /** The health check, or null for none (a package may still bring its own). */
    public HealthCheck healthCheck() {
        return healthCheck;
    }

    /** Timeout for every step command that does not set its own. */
    public Duration stepTimeout() {
        return stepTimeout;
    }

    /** When the deployment may dispatch: {@link DispatchWindow#ALWAYS} unless a start time or maintenance window was set. */
    public DispatchWindow window() {
        return window;
    }

    /** Equal when every field is: two plans that would run the same way, whatever built them. */
    @Override
    public boolean equals(Object o) {
        return o instanceof DeployPlan p && name.equals(p.name) && Objects.equals(action, p.action) && target.equals(p.target)
                && canary.equals(p.canary) && batch.equals(p.batch) && concurrency == p.concurrency
                && pauseBetweenBatches.equals(p.pauseBetweenBatches) && manualPromote == p.manualPromote
                && maxFailed.equals(p.maxFailed) && batchFailureMode == p.batchFailureMode
                && rollbackOnFailure == p.rollbackOnFailure && beforeHooks.equals(p.beforeHooks)
                && afterHooks.equals(p.afterHooks) && Objects.equals(healthCheck, p.healthCheck) && stepTimeout.equals(p.stepTimeout)
                && window.equals(p.window);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, action, target, canary, batch, concurrency, pauseBetweenBatches, manualPromote, maxFailed,
                batchFailureMode, rollbackOnFailure, beforeHooks, afterHooks, healthCheck, stepTimeout, window);
    }

    @Override
    public String toString() {
        return "DeployPlan[" + name + ": " + action + " on " + target + ", canary " + canary + ", batch " + batch
                + ", maxFailed " + maxFailed + (rollbackOnFailure ? ", rollback" : "") + "]";
    }

    /** Builds a {@link DeployPlan}. Not thread-safe. */
    public static final class Builder {
        private String name = "";
        private Action action;
        private boolean all;
        private final Set<String> groups = new LinkedHashSet<>();
        private final Set<String> servers = new LinkedHashSet<>();
        private LabelSelector selector = LabelSelector.NONE;
        private final Set<String> exclude = new LinkedHashSet<>();
        private BatchSize canary = BatchSize.count(0);
        private BatchSize batch = BatchSize.percent(25);
        private int concurrency;
        private Duration pauseBetweenBatches = Duration.ZERO;
        private boolean manualPromote;
        private BatchSize maxFailed = BatchSize.count(0);
        private BatchFailureMode batchFailureMode = BatchFailureMode.FAIL_FAST;
        private boolean rollbackOnFailure;
        private final List<Command> beforeHooks = new ArrayList<>();
        private final List<Command> afterHooks = new ArrayList<>();
        private HealthCheck healthCheck;
        private Duration stepTimeout = Command.DEFAULT_TIMEOUT;
        private DispatchWindow window = DispatchWindow.ALWAYS;
        private final boolean strategyOnly;

        private Builder(boolean strategyOnly) {
            this.strategyOnly = strategyOnly;
        }

        public Builder name(String name) {
            this.name = Objects.requireNonNullElse(name, "");
            return this;
        }

        public Builder action(Action action) {
            this.action = action;
            return this;
        }

        /** Replaces the whole target (every server, groups, servers, selector, exclusions) with {@code target}. */
        public Builder target(Target target) {
            Checks.notNull("target", target);
            all = target.all();
            groups.clear();
            groups.addAll(target.groups());
            servers.clear();
            servers.addAll(target.servers());
            selector = target.selector();
            exclude.clear();
            exclude.addAll(target.exclude());
            return this;
        }

        public Builder targetAll() {
            this.all = true;
            return this;
        }

        public Builder targetGroups(String... names) {
            groups.addAll(List.of(names));
            return this;
        }

        public Builder targetServers(String... ids) {
            servers.addAll(List.of(ids));
            return this;
        }

        /** Servers whose labels match, e.g. {@code "role=web,dc=sh1"}. */
        public Builder targetSelector(String selector) {
            try {
                this.selector = LabelSelector.parse(selector);
            } catch (IllegalArgumentException e) {
                throw new PlanValidationException("target.selector", e.getMessage());
            }
            return this;
        }

        public Builder exclude(String... serverIds) {
            exclude.addAll(List.of(serverIds));
            return this;
        }

        /** First batch, run alone; any failure in it halts the deployment. Default: none. */
        public Builder canary(BatchSize canary) {
            this.canary = canary;
            return this;
        }

        /** Size of each batch after the canary. Default: 25%. */
        public Builder batch(BatchSize batch) {
            this.batch = batch;
            return this;
        }

        /** Most nodes running at once within a batch. Default: the whole batch. */
        public Builder concurrency(int concurrency) {
            this.concurrency = concurrency;
            return this;
        }

        public Builder pauseBetweenBatches(Duration pause) {
            this.pauseBetweenBatches = pause;
            return this;
        }

        /** Pause after the canary batch until someone calls {@link Deployment#resume()}. */
        public Builder manualPromote(boolean manualPromote) {
            this.manualPromote = manualPromote;
            return this;
        }

        /** Failures tolerated (count, or percent of the target rounded down). Default: 0. */
        public Builder maxFailed(BatchSize maxFailed) {
            this.maxFailed = maxFailed;
            return this;
        }

        public Builder batchFailureMode(BatchFailureMode mode) {
            this.batchFailureMode = mode;
            return this;
        }

        /** On a breached budget, return changed nodes to their previous version. Default: false. */
        public Builder rollbackOnFailure(boolean rollback) {
            this.rollbackOnFailure = rollback;
            return this;
        }

        public Builder beforeHook(Command command) {
            beforeHooks.add(command);
            return this;
        }

        public Builder afterHook(Command command) {
            afterHooks.add(command);
            return this;
        }

        public Builder healthCheck(HealthCheck healthCheck) {
            this.healthCheck = healthCheck;
            return this;
        }

        public Builder stepTimeout(Duration stepTimeout) {
            this.stepTimeout = stepTimeout;
            return this;
        }

        /**
         * Dispatch only at the times {@code window} allows (a start time, a maintenance window, or
         * both). Outside them the deployment runs but dispatches no new batch, and its waiting nodes
         * say why; a batch already running finishes. Default {@link DispatchWindow#ALWAYS}.
         */
        public Builder window(DispatchWindow window) {
            this.window = Objects.requireNonNullElse(window, DispatchWindow.ALWAYS);
            return this;
        }

        /** Validates and builds; a {@link PlanValidationException} names the first bad field. */
        public DeployPlan build() {
            if (action == null && !strategyOnly) {
                throw new PlanValidationException("action", "must be set");
            }
            if (!strategyOnly && !all && groups.isEmpty() && servers.isEmpty() && selector.matchLabels().isEmpty()) {
                throw new PlanValidationException("target", "name at least one of all, groups, servers or selector");
            }
            checkIds("target.groups", groups);
            checkIds("target.servers", servers);
            checkIds("target.exclude", exclude);
            checkSize("rollout.canary", canary, 0);
            checkSize("rollout.batch", batch, 1);
            if (concurrency < 0) {
                throw new PlanValidationException("rollout.concurrency", "must be >= 1, but was " + concurrency);
            }
            if (pauseBetweenBatches == null || pauseBetweenBatches.isNegative()) {
                throw new PlanValidationException("rollout.pauseBetweenBatches", "must be >= 0, but was " + pauseBetweenBatches);
            }
            if (manualPromote && canary.roundUp(Integer.MAX_VALUE) == 0) {
                throw new PlanValidationException("rollout.manualPromote", "needs a canary batch to promote from");
            }
            checkSize("failurePolicy.maxFailed", maxFailed, 0);
            if (batchFailureMode == null) {
                throw new PlanValidationException("failurePolicy.batchFailureMode", "must be set");
            }
            if (rollbackOnFailure && action != null && !(action instanceof Action.Install)) {
                throw new PlanValidationException("failurePolicy.rollbackOnFailure",
                        "only install actions can be rolled back, but the action was " + action);
            }
            if (stepTimeout == null || stepTimeout.isNegative() || stepTimeout.isZero()) {
                throw new PlanValidationException("stepTimeout", "must be positive, but was " + stepTimeout);
            }
            return new DeployPlan(this);
        }

        private static void checkIds(String field, Set<String> ids) {
            for (String id : ids) {
                try {
                    Checks.id(field, id);
                } catch (IllegalArgumentException e) {
                    throw new PlanValidationException(field, id, e.getMessage());
                }
            }
        }

        private static void checkSize(String field, BatchSize size, int minCount) {
            if (size == null) {
                throw new PlanValidationException(field, "must be set");
            }
            if (size.isPercent()) {
                if (size.percent() < 1 || size.percent() > 100) {
                    throw new PlanValidationException(field + "Percent", "must be in 1%..100%, but was " + size);
                }
            } else if (size.count() < minCount) {
                throw new PlanValidationException(field + "Count", "must be >= " + minCount + ", but was " + size.count());
            }
        }
    }
}
