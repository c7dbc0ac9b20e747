package dev.deploykit;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a node says it has installed, as a transport hands it to {@link Servers#recordInventory}.
 *
 * <p>A <b>full</b> report lists everything installed under the package managers named in
 * {@code formats} (format names: {@code deb}, {@code rpm}, {@code script}): an inventory entry of a
 * covered format that the report does not list is removed, and entries of other formats (a package
 * DeployKit installed through a manager the node did not list) are kept. A <b>delta</b> lists only
 * what changed since the reporter's previous report, and {@code removed} what is gone.
 *
 * @param full    whether {@code changed} is the whole list for {@code formats}
 * @param changed package name to installed version (versions as the node's package manager writes them)
 * @param removed names no longer installed (deltas only)
 * @param formats the formats the report covers
 * @param source  how the report came about
 * @param services every service on the node ({@link ServiceStatus}), or null when the report does not
 *                 say (a delta in which no service changed)
 */
public record InventoryReport(boolean full, Map<String, String> changed, Set<String> removed, Set<String> formats,
        InventorySource source, List<ServiceStatus> services) {
    public InventoryReport {
        changed = Map.copyOf(changed);
        removed = Set.copyOf(removed);
        formats = Set.copyOf(formats);
        Checks.notNull("source of an inventory report", source);
        services = services == null ? null : List.copyOf(services);
    }

    /** A report that says nothing of services. */
    public InventoryReport(boolean full, Map<String, String> changed, Set<String> removed, Set<String> formats, InventorySource source) {
        this(full, changed, removed, formats, source, null);
    }
}
