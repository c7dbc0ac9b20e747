package dev.deploykit;

import java.util.List;
import java.util.Optional;

/**
 * Server management. Obtained from {@link DeployKit#servers()}. Thread-safe.
 *
 * <p>Errors: an id that is not registered is a {@link NotFoundException}; registering an id twice is
 * a {@link ConflictException}; a malformed id, label key or value is an {@link IllegalArgumentException}.
 */
public interface Servers {
    /** Adds a new server; an id already registered is a {@link ConflictException}. */
    Server register(Server server);

    /** Replaces a registered server (labels, binding...); an unknown id is a {@link NotFoundException}. */
    Server update(Server server);

    /** Sets one label; an unknown id is a {@link NotFoundException}. */
    Server label(String serverId, String key, String value);

    /** Removes one label; an unknown id is a {@link NotFoundException}. */
    Server unlabel(String serverId, String key);

    /** Removes a server and its explicit group memberships; false when it was not registered. */
    boolean remove(String serverId);

    Optional<Server> get(String serverId);

    /** All servers, by id. */
    List<Server> list();

    /**
     * Contacts the node, records its OS facts and the installed version of every package name
     * DeployKit knows, and returns the updated server.
     */
    Server refresh(String serverId);
}
