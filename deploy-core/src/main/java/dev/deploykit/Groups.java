package dev.deploykit;

import java.util.List;
import java.util.Optional;

/** Server group management. Obtained from {@link DeployKit#groups()}. Thread-safe. */
public interface Groups {
    /** Creates a group; explicit members must be registered servers; a taken name is an error. */
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
