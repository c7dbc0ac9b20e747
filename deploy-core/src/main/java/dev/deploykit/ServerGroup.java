package dev.deploykit;

import java.util.Set;
import java.util.TreeSet;

/**
 * A named set of servers: explicit members plus every server the selector matches. A server may be
 * in many groups.
 */
public record ServerGroup(String name, Set<String> members, LabelSelector selector) {
    public ServerGroup {
        Checks.id("group name", name);
        members.forEach(m -> Checks.id("group member", m));
        members = Set.copyOf(members);
        selector = selector == null ? LabelSelector.NONE : selector;
    }

    public boolean contains(Server server) {
        return members.contains(server.id()) || selector.matches(server);
    }

    public ServerGroup withMembers(Set<String> newMembers) {
        return new ServerGroup(name, newMembers, selector);
    }

    public ServerGroup withSelector(LabelSelector newSelector) {
        return new ServerGroup(name, members, newSelector);
    }

    /** Members sorted by id, for display. */
    public Set<String> sortedMembers() {
        return new TreeSet<>(members);
    }
}
