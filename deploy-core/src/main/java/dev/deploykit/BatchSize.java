package dev.deploykit;

/**
 * A number of nodes given as a count or as a percent of the deployment's target. How a percent is
 * rounded depends on use: batch and canary sizes round <em>up</em> (a batch is never empty), a
 * failure budget rounds <em>down</em> (a budget never allows more than asked). See
 * {@code docs/plan-semantics.md}.
 */
public record BatchSize(int count, int percent) {
    public BatchSize {
        if (count != 0 && percent != 0) {
            throw new IllegalArgumentException("give a count or a percent, not both, but was " + count + " and " + percent + "%");
        }
    }

    public static BatchSize count(int n) {
        return new BatchSize(n, 0);
    }

    public static BatchSize percent(int p) {
        return new BatchSize(0, p);
    }

    public boolean isPercent() {
        return percent != 0;
    }

    /** ceil(total * percent / 100), at least 1 when total > 0; or the count capped at total. */
    public int roundUp(int total) {
        if (isPercent()) {
            return total == 0 ? 0 : Math.max(1, (int) ((total * (long) percent + 99) / 100));
        }
        return Math.min(count, total);
    }

    /** floor(total * percent / 100); or the count. */
    public int roundDown(int total) {
        return isPercent() ? (int) (total * (long) percent / 100) : count;
    }

    @Override
    public String toString() {
        return isPercent() ? percent + "%" : Integer.toString(count);
    }
}
