package dev.deploykit.internal;

import dev.deploykit.ConflictException;
import dev.deploykit.Groups;
import dev.deploykit.LabelSelector;
import dev.deploykit.NotFoundException;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.spi.Store;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;

/** Group management; shares the server registry's lock. */
final class GroupRegistry implements Groups {
    private final Store store;
    private final ServerRegistry servers;

    GroupRegistry(Store store, ServerRegistry servers) {
        this.store = store;
        this.servers = servers;
    }

    @Override
    public ServerGroup create(ServerGroup group) {
        synchronized (servers.lock) {
            if (store.group(group.name()).isPresent()) {
                throw new ConflictException("group", group.name(), "group " + group.name() + " already exists");
            }
            requireServers(group.members());
            store.putGroup(group);
            return group;
        }
    }

    @Override
    public ServerGroup addMembers(String group, String... serverIds) {
        return modify(group, g -> {
            requireServers(List.of(serverIds));
            Set<String> members = new HashSet<>(g.members());
            members.addAll(List.of(serverIds));
            return g.withMembers(members);
        });
    }

    @Override
    public ServerGroup removeMembers(String group, String... serverIds) {
        return modify(group, g -> {
            Set<String> members = new HashSet<>(g.members());
            List.of(serverIds).forEach(members::remove);
            return g.withMembers(members);
        });
    }

    @Override
    public ServerGroup setSelector(String group, LabelSelector selector) {
        return modify(group, g -> g.withSelector(selector));
    }

    @Override
    public boolean remove(String group) {
        return store.removeGroup(group);
    }

    @Override
    public Optional<ServerGroup> get(String group) {
        return store.group(group);
    }

    @Override
    public List<ServerGroup> list() {
        return store.groups();
    }

    @Override
    public List<Server> resolve(String group) {
        ServerGroup g = require(group);
        return store.servers().stream().filter(g::contains).toList();
    }

    private ServerGroup modify(String name, UnaryOperator<ServerGroup> change) {
        synchronized (servers.lock) {
            ServerGroup updated = change.apply(require(name));
            store.putGroup(updated);
            return updated;
        }
    }

    private ServerGroup require(String name) {
        return store.group(name).orElseThrow(() -> new NotFoundException("group", name));
    }

    private void requireServers(Collection<String> ids) {
        ids.forEach(servers::require);
    }
}
