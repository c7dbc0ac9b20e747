package dev.deploykit.internal;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.Facts;
import dev.deploykit.Server;
import dev.deploykit.StoreException;
import dev.deploykit.TransportException;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.Relay;
import java.time.Duration;
import java.util.UUID;

/**
 * A session to a node this controller cannot reach: every step goes through the {@link Relay} to
 * the controller that can, and this session waits for its output and outcome. Facts are the ones
 * the node last reported; the install root comes from the server's binding.
 */
final class RelaySession implements NodeSession {
    /** How long a step may wait for a controller that reaches its node (as long as an agent's reconnect grace). */
    static final Duration CLAIM_WAIT = Duration.ofMinutes(2);
    private static final Duration POLL = Duration.ofSeconds(1);

    private final Relay relay;
    private final Server server;
    private String fenceScope = "";
    private long fenceEpoch;

    RelaySession(Relay relay, Server server) {
        this.relay = relay;
        this.server = server;
    }

    @Override
    public Facts facts() {
        return server.facts();
    }

    @Override
    public String root() {
        return server.binding().attributes().getOrDefault("root", "/");
    }

    @Override
    public String ensureArtifact(Artifact artifact, ArtifactStore source) {
        Relay.Outcome outcome = await(new Relay.PlaceArtifact(artifact), OutputListener.IGNORE, Command.DEFAULT_TIMEOUT);
        return outcome.artifactPath();
    }

    @Override
    public ExecResult exec(Command command, OutputListener output) {
        return exec("relay-" + UUID.randomUUID(), command, output);
    }

    @Override
    public ExecResult exec(String key, Command command, OutputListener output) {
        return await(new Relay.Exec(key, command, fenceScope, fenceEpoch), output, command.timeoutOr(Command.DEFAULT_TIMEOUT)).result();
    }

    /** Travels with every relayed exec; the controller running it fences its own session with it. */
    @Override
    public void fence(String scope, long epoch) {
        this.fenceScope = scope;
        this.fenceEpoch = epoch;
    }

    private Relay.Outcome await(Relay.Step step, OutputListener output, Duration runs) {
        try {
            return follow(relay.submit(server.id(), step), output, runs);
        } catch (StoreException e) {
            // the store stayed unreachable past its own retries: a failed step on this node, not a lost thread
            throw new TransportException(server.id(), "cannot relay the step through the store: " + e.getMessage(), e, true);
        }
    }

    private Relay.Outcome follow(long id, OutputListener output, Duration runs) {
        long claimDeadline = System.nanoTime() + CLAIM_WAIT.toNanos();
        long deadline = claimDeadline + runs.toNanos();
        int seen = 0;
        try {
            while (true) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedException();
                }
                Relay.Progress progress = relay.follow(id, seen, POLL);
                for (Relay.Line line : progress.lines()) {
                    output.onLine(line.stream(), line.text());
                }
                seen += progress.lines().size();
                Relay.Outcome outcome = progress.outcome();
                if (outcome != null) {
                    relay.forget(id);
                    if (outcome.error() != null) {
                        throw new TransportException(server.id(), outcome.error(), null, outcome.retryable());
                    }
                    return outcome;
                }
                long now = System.nanoTime();
                if (!progress.claimed() && now > claimDeadline || now > deadline) {
                    relay.abandon(id);
                    throw new TransportException(server.id(), progress.claimed()
                            ? "the controller running the step on " + server.id() + " stopped answering"
                            : "no controller reaches " + server.id() + " (waited " + CLAIM_WAIT.toSeconds() + " s)", null, true);
                }
            }
        } catch (InterruptedException e) {
            try {
                relay.abandon(id); // before re-asserting the interrupt, which a pooled connection would refuse
            } catch (StoreException ignored) {
                // the claimer notices at its next report, or its claim runs out
            }
            Thread.currentThread().interrupt();
            throw new TransportException(server.id(), "interrupted while the step ran on another controller", e, false);
        }
    }

    @Override
    public void close() {}
}
