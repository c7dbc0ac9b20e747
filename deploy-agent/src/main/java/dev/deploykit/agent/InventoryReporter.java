package dev.deploykit.agent;

import dev.deploykit.ServiceStatus;
import dev.deploykit.spi.support.NodeInventory;
import dev.deploykit.transport.grpc.proto.AgentMessage;
import dev.deploykit.transport.grpc.proto.InventoryEntry;
import dev.deploykit.transport.grpc.proto.InventoryReport;
import dev.deploykit.transport.grpc.proto.ServiceState;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the controller what the node has installed (see {@link NodeInventory}): everything once per
 * connection, then only what changed. {@link #check} is cheap (a few {@code stat} calls) and runs every
 * few seconds; it lists the packages only when the database's size or time moved.
 *
 * <p>Thread-safe: one lock orders listing, comparing and sending, so deltas reach the stream in the
 * order they were computed, each against the report before it.
 */
final class InventoryReporter {
    private static final Logger log = LoggerFactory.getLogger(InventoryReporter.class);

    private final String root;
    /** What the controller was last sent; null before the first full report. */
    // @GuardedBy("this")
    private Map<String, String> sent;
    // @GuardedBy("this")
    private List<ServiceStatus> sentServices = List.of();
    // @GuardedBy("this")
    private String stamp;

    InventoryReporter(String root) {
        this.root = root;
    }

    /** Sends the whole inventory to {@code out} (a connection just began). */
    synchronized void full(Consumer<AgentMessage> out) {
        stamp = NodeInventory.stamp(Path.of(root));
        NodeInventory.Listing now = list();
        if (now == null) {
            return;
        }
        InventoryReport.Builder report = InventoryReport.newBuilder().setFull(true).addAllFormats(now.formats());
        now.packages().forEach((name, version) -> report.addChanged(entry(name, version)));
        addServices(report, now.services());
        out.accept(AgentMessage.newBuilder().setInventory(report).build());
        sent = now.packages();
        log.info("inventory report: full, {} packages ({})", now.packages().size(), String.join(", ", now.formats()));
    }

    /** Sends what changed since the last report, if anything did; {@code out} null: not connected. */
    synchronized void changes(boolean afterTask, Consumer<AgentMessage> out) {
        if (sent == null || out == null) {
            return;
        }
        stamp = NodeInventory.stamp(Path.of(root));
        NodeInventory.Listing now = list();
        if (now == null) {
            return;
        }
        InventoryReport.Builder report = InventoryReport.newBuilder().setAfterTask(afterTask).addAllFormats(now.formats());
        now.packages().forEach((name, version) -> {
            if (!Objects.equals(sent.get(name), version)) {
                report.addChanged(entry(name, version));
            }
        });
        sent.keySet().stream().filter(name -> !now.packages().containsKey(name)).sorted().forEach(report::addRemoved);
        boolean servicesChanged = !states(now.services()).equals(states(sentServices));
        if (report.getChangedCount() == 0 && report.getRemovedCount() == 0 && !servicesChanged) {
            return;
        }
        addServices(report, now.services());
        out.accept(AgentMessage.newBuilder().setInventory(report).build());
        sent = now.packages();
        log.info("inventory report: delta, {} changed, {} removed ({})", report.getChangedCount(), report.getRemovedCount(),
                afterTask ? "after a task" : "the package database changed");
    }

    /**
     * Reports the changes when the package database's size, time or inode moved since the last
     * listing (dpkg and rpm replace their files, bundles relink {@code current}): called every few
     * seconds and after every task.
     */
    void check(boolean afterTask, Consumer<AgentMessage> out) {
        String now = NodeInventory.stamp(Path.of(root));
        boolean moved;
        synchronized (this) {
            moved = !now.equals(stamp);
        }
        if (moved) {
            changes(afterTask, out);
        }
    }

    private NodeInventory.Listing list() {
        try {
            return NodeInventory.listLocally(root);
        } catch (IOException e) {
            log.warn("cannot list the installed packages: {}", e.getMessage());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Every service, with its use now; noted as sent. Called under the lock. */
    private void addServices(InventoryReport.Builder report, List<ServiceStatus> services) {
        report.setServicesListed(true);
        for (ServiceStatus s : services) {
            ServiceState.Builder state = ServiceState.newBuilder().setName(s.name()).setState(s.state().name()).setPid(s.pid())
                    .setMemoryBytes(s.memoryBytes()).setMemoryLimit(s.memoryLimit()).setCpuMicros(s.cpuMicros()).setOomKills(s.oomKills());
            if (s.exitCode() != null) {
                state.setHasExitCode(true).setExitCode(s.exitCode());
            }
            report.addServices(state);
        }
        sentServices = services;
    }

    /** What of the services is worth a report: which run, as which process, and how they ended; not their use. */
    private static List<String> states(List<ServiceStatus> services) {
        return services.stream().map(s -> s.name() + " " + s.state() + " " + s.pid() + " " + s.exitCode() + " " + s.oomKills()).toList();
    }

    private static InventoryEntry entry(String name, String version) {
        return InventoryEntry.newBuilder().setName(name).setVersion(version).build();
    }
}
