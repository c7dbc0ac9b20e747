package dev.deploykit;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A node DeployKit deploys to. Immutable; change it with the {@code with...} methods and store it
 * again through {@link DeployKit#servers()}.
 *
 * @param id        stable id, {@code [A-Za-z0-9][A-Za-z0-9._-]{0,62}}
 * @param hostname  host name for display
 * @param addresses network addresses, informational
 * @param labels    selector labels such as {@code role=web}
 * @param binding   how the node is reached
 * @param facts     OS facts last seen, {@link Facts#UNKNOWN} until the node was contacted
 * @param inventory installed package name to version, as last seen by DeployKit
 * @param lastSeen  when the node was last contacted, or null
 * @param cordoned  kept out of new deployments and of convergence ({@link Servers#cordon}); changed
 *                  only by {@link Servers#cordon} and {@link Servers#uncordon}, which
 *                  {@link Servers#update} keeps as it was
 */
public record Server(
        String id,
        String hostname,
        List<String> addresses,
        Map<String, String> labels,
        Binding binding,
        Facts facts,
        Map<String, String> inventory,
        Instant lastSeen,
        boolean cordoned) {

    public Server {
        Checks.id("server id", id);
        hostname = hostname == null ? id : hostname;
        addresses = List.copyOf(addresses);
        labels.forEach((k, v) -> Checks.labelValue(Checks.labelKey(k), v));
        labels = Map.copyOf(labels);
        Checks.notNull("binding of server " + id, binding);
        facts = facts == null ? Facts.UNKNOWN : facts;
        inventory = Map.copyOf(inventory);
    }

    /** A server that is not cordoned. */
    public Server(String id, String hostname, List<String> addresses, Map<String, String> labels, Binding binding, Facts facts,
            Map<String, String> inventory, Instant lastSeen) {
        this(id, hostname, addresses, labels, binding, facts, inventory, lastSeen, false);
    }

    /** A new server with no facts or inventory yet. */
    public static Server of(String id, Binding binding, Map<String, String> labels) {
        return new Server(id, id, List.of(), labels, binding, Facts.UNKNOWN, Map.of(), null);
    }

    public Server withLabels(Map<String, String> newLabels) {
        return new Server(id, hostname, addresses, newLabels, binding, facts, inventory, lastSeen, cordoned);
    }

    public Server withLabel(String key, String value) {
        Map<String, String> copy = new HashMap<>(labels);
        copy.put(key, value);
        return withLabels(copy);
    }

    public Server withBinding(Binding newBinding) {
        return new Server(id, hostname, addresses, labels, newBinding, facts, inventory, lastSeen, cordoned);
    }

    public Server withFacts(Facts newFacts, Instant seen) {
        return new Server(id, hostname, addresses, labels, binding, newFacts, inventory, seen, cordoned);
    }

    public Server withLastSeen(Instant seen) {
        return new Server(id, hostname, addresses, labels, binding, facts, inventory, seen, cordoned);
    }

    /** This server, cordoned or not. */
    public Server withCordoned(boolean value) {
        return new Server(id, hostname, addresses, labels, binding, facts, inventory, lastSeen, value);
    }

    /** This server with {@code pkg} recorded at {@code version}, or removed when version is null. */
    public Server withInstalled(String pkg, String version) {
        Map<String, String> copy = new HashMap<>(inventory);
        if (version == null) {
            copy.remove(pkg);
        } else {
            copy.put(pkg, version);
        }
        return new Server(id, hostname, addresses, labels, binding, facts, copy, lastSeen, cordoned);
    }
}
