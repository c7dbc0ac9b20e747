package dev.deploykit.internal;

import dev.deploykit.InventoryChange;
import dev.deploykit.InventoryReport;
import dev.deploykit.InventorySource;
import dev.deploykit.Server;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Function;

/** The inventory rules, pure: how a report changes a server's inventory, and what changed. */
final class Inventories {
    private Inventories() {}

    /**
     * {@code inventory} with {@code report} applied. A full report removes the entries it does not
     * list whose format it covers; an entry whose package DeployKit does not know ({@code formatOf}
     * answers null) came from an earlier report and is covered too. Entries of formats the report does
     * not cover stay.
     */
    static Map<String, String> apply(Map<String, String> inventory, InventoryReport report, Function<String, String> formatOf) {
        Map<String, String> result = new HashMap<>(inventory);
        if (report.full()) {
            for (String name : inventory.keySet()) {
                if (!report.changed().containsKey(name)) {
                    String format = formatOf.apply(name);
                    if (format == null || report.formats().contains(format)) {
                        result.remove(name);
                    }
                }
            }
        } else {
            report.removed().forEach(result::remove);
        }
        result.putAll(report.changed());
        return result;
    }

    /** The changes from {@code before}'s inventory to {@code after}, by package name. */
    static List<InventoryChange> changes(Server before, Map<String, String> after, InventorySource source, Instant at) {
        TreeSet<String> names = new TreeSet<>(before.inventory().keySet());
        names.addAll(after.keySet());
        List<InventoryChange> changes = new ArrayList<>();
        for (String name : names) {
            String from = before.inventory().get(name);
            String to = after.get(name);
            if (!Objects.equals(from, to)) {
                changes.add(new InventoryChange(at, before.id(), name, from, to, source));
            }
        }
        return changes;
    }
}
