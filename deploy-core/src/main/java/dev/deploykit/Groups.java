package dev.deploykit;

import java.util.List;
import java.util.Optional;

/**
 * Server group management. Obtained from {@link DeployKit#groups()}. Thread-safe.
 *
 * <p>Errors: an unknown group or member server is a {@link NotFoundException}; creating a group
 * whose name is taken is a {@link ConflictException}; a malformed name is an
 * {@link IllegalArgumentException}.
 */
public interface Groups {
    /**
     * Creates a group; explicit members must be registered servers; a taken name is a
     * {@link ConflictException}.
     */
    ServerGroup create(ServerGroup group);

    ServerGroup addMembers(String group, String... serverIds);

    ServerGroup removeMembers(String group, String... serverIds);

    ServerGroup setSelector(String group, LabelSelector selector);

    boolean remove(String group);

    Optional<ServerGroup> get(String group);

    /** All groups, by name. */
    List<ServerGroup> list();

    /** The servers in a group now (members and selector matches), by id. */
    List<Server> resolve(String group);
}
