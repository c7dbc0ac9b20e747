package dev.deploykit.spi;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;

/**
 * Hands node steps between controllers that share a store. A controller that must run a step on a
 * node it cannot reach itself (the node's agent is connected to another controller) submits it here;
 * the controller that can reach the node claims it, runs it through its own transport with the same
 * key, and reports the output and the outcome back. Events are still written by the deployment's
 * owner alone, from what it follows here.
 *
 * <p>Claims expire: a step whose claimer died is claimed again by a controller that reaches the
 * node, and the key makes the agent answer from its journal instead of running it twice.
 */
public interface Relay {

    /** A step for another controller to run. */
    sealed interface Step permits Exec, PlaceArtifact {}

    /**
     * Run {@code command} under {@code key} (see {@link NodeSession#exec(String, Command, OutputListener)}),
     * fenced as the requester's session is (see {@link NodeSession#fence}).
     */
    record Exec(String key, Command command, String fenceScope, long fenceEpoch) implements Step {}

    /** Make {@code artifact} present on the node (the claimer reads it from its own artifact store). */
    record PlaceArtifact(Artifact artifact) implements Step {}

    /** One output line of a relayed exec. */
    record Line(String stream, String text) {}

    /** How a relayed step ended: an exec result, an artifact path, or an error that stopped it. */
    record Outcome(ExecResult result, String artifactPath, String error, boolean retryable) {}

    /** Output lines after the ones already seen, and the outcome once there is one (else null). */
    record Progress(List<Line> lines, Outcome outcome, boolean claimed) {}

    /** A step this controller claimed. */
    record Claimed(long id, String serverId, Step step) {}

    /** Asks for {@code step} to be run on {@code serverId}; returns its id. */
    long submit(String serverId, Step step);

    /** Progress of step {@code id} after output line {@code seenLines}, waiting up to {@code maxWait} for news. */
    Progress follow(long id, int seenLines, Duration maxWait);

    /** The requester no longer waits (cancelled or gave up): the claimer stops the step; its record goes. */
    void abandon(long id);

    /** The requester has read the outcome: the step's record goes. */
    void forget(long id);

    /**
     * Claims up to {@code max} unclaimed (or expired) steps on servers this controller {@code reaches},
     * waiting up to {@code maxWait} for one to be submitted.
     */
    List<Claimed> claim(Predicate<String> reaches, int max, Duration maxWait);

    /**
     * Appends output lines of a claimed step and extends the claim; false when the requester
     * abandoned the step or another controller took the claim over (stop running it).
     */
    boolean report(long id, List<Line> lines);

    /** Records the outcome of a claimed step. */
    void finish(long id, Outcome outcome);
}
