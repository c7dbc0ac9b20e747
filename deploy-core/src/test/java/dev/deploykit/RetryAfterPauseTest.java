package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A deployment paused during its last batch ends; retrying its failed node starts it again instead of hanging paused. */
class RetryAfterPauseTest {
    @TempDir
    Path tmp;

    @Test
    void retryFailedAfterAPauseInTheLastBatchRunsTheFailedNodeAgain() throws Exception {
        try (Cluster cluster = new Cluster(tmp, 2)) {
            cluster.publishApp("1.0");
            cluster.markUnhealthy("n02");
            Deployment d = cluster.kit.start(Cluster.install("1.0").batch(BatchSize.count(2)).maxFailed(BatchSize.count(1))
                    .healthCheck(HealthCheck.ofPackage(3, Duration.ofMillis(300))).build());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (d.tasks().stream().noneMatch(t -> t.status() == NodeStatus.RUNNING) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            d.pause(); // while its only batch runs: nothing is left to dispatch, so it ends paused-at-heart
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)), "one failure within the budget");
            cluster.markHealthy("n02");
            d.retryFailed();
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)));
            assertEquals(NodeStatus.SUCCEEDED, cluster.statuses(d).get("n02"), "the retried node ran, not waited for a resume");
        }
    }
}
