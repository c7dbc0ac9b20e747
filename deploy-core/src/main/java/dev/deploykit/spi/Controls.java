package dev.deploykit.spi;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Control actions on deployments, carried through a store that several controllers share: a
 * controller that does not own a deployment {@linkplain #submit submits} the action, the owner
 * {@linkplain #open picks it up}, acts on its live run, and {@linkplain #complete records} what
 * became of it, which the submitter {@linkplain #outcome waits} for. Implementations must be
 * thread-safe; a store that offers this returns it from {@link Store#controls()}.
 */
public interface Controls {
    /** What can be asked of a deployment's owner. */
    enum Action { PAUSE, RESUME, CANCEL, RETRY_FAILED }

    /** An open request. */
    record Request(long id, String deploymentId, Action action, String requestedBy) {}

    /** Queues {@code action} for the owner of {@code deploymentId}; returns the request's id. */
    long submit(String deploymentId, Action action);

    /** Open requests on any of {@code deploymentIds}, oldest first, waiting up to {@code maxWait} when there is none. */
    List<Request> open(Collection<String> deploymentIds, Duration maxWait);

    /** Records the outcome of request {@code id}: {@code error} null when the action was carried out. */
    void complete(long id, String error);

    /**
     * The outcome of request {@code id}, waiting up to {@code maxWait}: empty while it is open,
     * {@code ""} when it was carried out, else the owner's error message.
     */
    Optional<String> outcome(long id, Duration maxWait);
}
