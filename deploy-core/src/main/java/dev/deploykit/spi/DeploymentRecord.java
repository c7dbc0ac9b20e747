package dev.deploykit.spi;

import dev.deploykit.DeployPlan;
import dev.deploykit.DeploymentStatus;
import java.time.Instant;
import java.util.List;

/** A deployment as stored: the plan snapshot, its batches and its status. */
public record DeploymentRecord(String id, DeployPlan plan, List<List<String>> batches, DeploymentStatus status,
        Instant createdAt, Instant updatedAt) {
    public DeploymentRecord {
        batches = batches.stream().map(List::copyOf).toList();
    }

    public DeploymentRecord with(DeploymentStatus newStatus, Instant at) {
        return new DeploymentRecord(id, plan, batches, newStatus, createdAt, at);
    }
}
