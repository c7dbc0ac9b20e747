package dev.deploykit;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * How a {@link Server} is reached: the transport {@code scheme} ({@code local}, {@code agent},
 * {@code ssh}) and that transport's attributes (agent id; host, port, user; a local root dir).
 */
public record Binding(String scheme, Map<String, String> attributes) {
    public Binding {
        Checks.id("binding scheme", scheme);
        attributes = Map.copyOf(Checks.notNull("binding attributes", attributes));
    }

    /** A simulated node on this machine whose filesystem root is {@code root}. */
    public static Binding local(Path root) {
        return new Binding("local", Map.of("root", root.toAbsolutePath().normalize().toString()));
    }

    /** A node running the DeployKit agent with the given agent id. */
    public static Binding agent(String agentId) {
        return new Binding("agent", Map.of("agentId", Checks.id("agentId", agentId)));
    }

    /** A node reached over SSH. */
    public static Binding ssh(String host, int port, String user) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("ssh port must be in 1..65535, but was " + port);
        }
        return new Binding("ssh", Map.of("host", host, "port", Integer.toString(port), "user", user));
    }

    /** The attribute, or an error naming it when absent. */
    public String require(String name) {
        String value = attributes.get(name);
        if (value == null) {
            throw new IllegalArgumentException(scheme + " binding needs attribute '" + name + "'");
        }
        return value;
    }

    @Override
    public String toString() {
        return scheme + new TreeMap<>(attributes);
    }
}
