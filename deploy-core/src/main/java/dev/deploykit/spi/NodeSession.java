package dev.deploykit.spi;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.Facts;

/**
 * An open connection to one node. Used by one engine thread at a time; the opener closes it.
 *
 * <p>Cancellation: interrupting the thread blocked in {@link #exec} kills the remote process tree and
 * makes {@code exec} throw {@link dev.deploykit.TransportException} or return promptly.
 */
public interface NodeSession extends AutoCloseable {
    /** OS facts of the node. */
    Facts facts();

    /**
     * Filesystem root that package formats install under: {@code "/"} on a real node, a directory on
     * a simulated one.
     */
    String root();

    /**
     * Makes {@code artifact} present on the node and returns its path there. Idempotent and
     * content-addressed: an artifact already present and intact is not sent again; the digest is
     * verified on the node before the path is returned.
     */
    String ensureArtifact(Artifact artifact, ArtifactStore source);

    /**
     * As {@link #ensureArtifact(Artifact, ArtifactStore)}, saying how the artifact came where the
     * transport knows more than that it came: from which relay agent, how many bytes the controller
     * and each relay sent, which relays were dropped and why.
     */
    default ArtifactDelivery deliver(Artifact artifact, ArtifactStore source) {
        return ArtifactDelivery.uncounted(ensureArtifact(artifact, source));
    }

    /**
     * Runs {@code command} and blocks until it ends, streaming its output to {@code output}. A
     * command that outlives its timeout is killed with every process it started.
     */
    ExecResult exec(Command command, OutputListener output);

    /**
     * Like {@link #exec(Command, OutputListener)}, with {@code key} naming this exact run of this
     * command within a deployment ({@code [A-Za-z0-9._-]}, stable when the engine re-sends the same
     * step after a restart). A transport that remembers results, like the agent with its journal,
     * answers a key it has seen from memory instead of running the command again; the default runs it.
     */
    default ExecResult exec(String key, Command command, OutputListener output) {
        return exec(command, output);
    }

    /**
     * Marks the commands sent from now on as coming from the owner of {@code scope} (a deployment)
     * at fencing {@code epoch}. A transport whose nodes can check it (the agent) refuses a command
     * whose epoch is lower than one the node has already seen for the scope: it can only come from
     * a controller that lost the deployment to another. Epoch 0 means no fencing. Default: ignored.
     */
    default void fence(String scope, long epoch) {}

    /**
     * This controller no longer owns the deployment the session works for: when the calling thread is
     * interrupted next, stop waiting and send nothing more to the node (no cancel), because the
     * command now belongs to the new owner, which may have sent it again under the same key. May be
     * called from another thread. Default: ignored (the interrupt cancels as usual, which is right for
     * nodes that keep no journal).
     */
    default void abandon() {}

    @Override
    void close();
}
