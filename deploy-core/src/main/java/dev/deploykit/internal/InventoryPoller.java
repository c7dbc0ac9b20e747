package dev.deploykit.internal;

import dev.deploykit.InventoryReport;
import dev.deploykit.InventorySource;
import dev.deploykit.Server;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.Transport;
import dev.deploykit.spi.support.NodeInventory;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lists the packages of nodes that do not report on their own (transports that answer
 * {@link Transport#polledForInventory()}, SSH), one command per node ({@link NodeInventory}), and
 * applies each listing as a full report through {@link ServerRegistry#recordInventory}: the same path
 * an agent's report takes. Called every {@code inventoryPollInterval} from one engine thread, so
 * passes never overlap; a node that cannot be reached is logged and tried at the next pass.
 */
final class InventoryPoller {
    private static final Logger log = LoggerFactory.getLogger(InventoryPoller.class);

    private final ServerRegistry servers;
    private final Function<String, Transport> transports;
    private final Function<Server, NodeSession> open;

    InventoryPoller(ServerRegistry servers, Function<String, Transport> transports, Function<Server, NodeSession> open) {
        this.servers = servers;
        this.transports = transports;
        this.open = open;
    }

    void pass() {
        for (Server server : servers.list()) {
            Transport t = transports.apply(server.binding().scheme());
            if (t == null || !t.polledForInventory() || !t.reaches(server)) {
                continue;
            }
            try {
                poll(server);
            } catch (RuntimeException e) {
                log.warn("cannot list the packages of {} (tried again at the next poll): {}", server.id(), e.getMessage());
            }
        }
    }

    private void poll(Server server) {
        StringBuilder out = new StringBuilder();
        ExecResult result;
        try (NodeSession session = open.apply(server)) {
            result = session.exec("inventory-" + UUID.randomUUID(), NodeInventory.command(session.root()), (stream, line) -> {
                if (stream.equals("stdout")) {
                    out.append(line).append('\n');
                }
            });
        }
        if (result.exitCode() != 0) {
            log.warn("listing the packages of {} failed with exit code {}", server.id(), result.exitCode());
            return;
        }
        NodeInventory.Listing listing = NodeInventory.parse(out.toString());
        var changes = servers.recordInventory(server.id(), new InventoryReport(true, listing.packages(), Set.of(), listing.formats(),
                InventorySource.POLL, listing.services()));
        if (!changes.isEmpty()) {
            log.info("{} inventory: {}", server.id(), changes.size() <= 5 ? changes : changes.size() + " changes");
        }
    }
}
