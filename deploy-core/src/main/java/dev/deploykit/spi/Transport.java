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

    @Override
    default void close() {}
}
