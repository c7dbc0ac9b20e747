package dev.deploykit;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.function.Consumer;

/**
 * A live handle on one execution of a plan. Thread-safe. Obtained from {@link DeployKit#start} or
 * {@link DeployKit#deployment(String)}.
 *
 * <pre>{@code
 * Deployment d = kit.start(plan);
 * d.onEvent(e -> System.out.println(e));
 * DeploymentStatus end = d.await(Duration.ofMinutes(10));
 * }</pre>
 */
public interface Deployment {
    String id();

    DeployPlan plan();

    DeploymentStatus status();

    /** Node tasks by batch, then server id. */
    List<NodeTask> tasks();

    /** The batches, each a list of server ids; the canary batch first when there is one. */
    List<List<String>> batches();

    /** Every event so far, in sequence order. */
    List<DeployEvent> events();

    /**
     * Calls {@code listener} with every event so far, then with each new one, in sequence order and
     * without gaps. Runs on the engine's thread: keep it quick. Closing the returned handle stops it.
     */
    AutoCloseable onEvent(Consumer<DeployEvent> listener);

    /** The same events as a reactive-streams publisher (buffered, delivered on another thread). */
    Flow.Publisher<DeployEvent> publisher();

    /** Waits for a terminal status, or returns the current one after {@code timeout}. */
    DeploymentStatus await(Duration timeout) throws InterruptedException;

    /**
     * Stops dispatching new nodes; running nodes finish. A deployment that is not running here is a
     * {@link ConflictException}.
     */
    void pause();

    /**
     * Resumes a paused deployment (also promotes past a manual-promote canary); a
     * {@link ConflictException} when it is not running here.
     */
    void resume();

    /** Stops dispatching and cancels running nodes (their processes are killed). */
    void cancel();

    /**
     * Runs the FAILED node tasks of a FAILED (or SUCCEEDED within its budget) deployment again; a
     * {@link ConflictException} when it is still running, has no failed nodes, or another controller
     * owns it.
     */
    void retryFailed();
}
