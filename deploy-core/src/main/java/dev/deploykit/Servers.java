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

    /**
     * Removes a server and its explicit group memberships; false when it was not registered. A server
     * that an unfinished deployment targets is refused with a {@link ConflictException} naming the
     * deployment; see {@link #remove(String, boolean)}.
     */
    default boolean remove(String serverId) {
        return remove(serverId, false);
    }

    /**
     * Removes a server; with {@code force}, even while an unfinished deployment targets it: that
     * deployment's task for it then fails ("server ... was removed") when its turn comes, and the
     * rest of the deployment goes on within its failure budget.
     */
    boolean remove(String serverId, boolean force);

    Optional<Server> get(String serverId);

    /** All servers, by id. */
    List<Server> list();

    /**
     * Contacts the node, records its OS facts and the installed version of every package name
     * DeployKit knows, and returns the updated server.
     */
    Server refresh(String serverId);
}
