package dev.deploykit.spi;

import dev.deploykit.Server;

/**
 * Reaches nodes of one binding scheme ({@code local}, {@code agent}, {@code ssh}). Thread-safe:
 * the engine opens sessions to many nodes at once. The {@code DeployKit} that it is registered with
 * closes it.
 */
public interface Transport extends AutoCloseable {
    /** The {@link dev.deploykit.Binding#scheme()} this transport serves. */
    String scheme();

    /**
     * Opens a session to {@code server}. Throws {@link dev.deploykit.TransportException} when the
     * node cannot be reached. The caller closes the session.
     */
    NodeSession open(Server server);

    /**
     * Whether this controller can reach {@code server} right now without waiting (the agent is
     * connected here). When it cannot and the store has a {@link Relay}, the engine relays the node's
     * steps to the controller that can. Default: true.
     */
    default boolean reaches(Server server) {
        return true;
    }

    /**
     * Whether the engine should list the packages of this transport's nodes every
     * {@code DeployKit.Builder.inventoryPollInterval} (one command per node, see
     * {@link dev.deploykit.spi.support.NodeInventory}): true for transports whose nodes do not report
     * their inventory on their own, such as SSH. Default: false.
     */
    default boolean polledForInventory() {
        return false;
    }

    @Override
    default void close() {}
}
