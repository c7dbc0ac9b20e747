package dev.deploykit;

import java.util.Set;

/**
 * Where a plan runs: every server, and/or named groups, servers and a label selector, minus
 * exclusions. Groups and servers are resolved against the store when the plan is previewed or
 * started; an unknown name fails then, before any node is touched.
 */
public record Target(boolean all, Set<String> groups, Set<String> servers, LabelSelector selector, Set<String> exclude) {
    public Target {
        groups = Set.copyOf(groups);
        servers = Set.copyOf(servers);
        selector = selector == null ? LabelSelector.NONE : selector;
        exclude = Set.copyOf(exclude);
    }

    public boolean isEmpty() {
        return !all && groups.isEmpty() && servers.isEmpty() && selector.matchLabels().isEmpty();
    }
}
