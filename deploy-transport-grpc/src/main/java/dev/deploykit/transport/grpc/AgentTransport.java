package dev.deploykit.transport.grpc;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.Facts;
import dev.deploykit.Server;
import dev.deploykit.TransportException;
import dev.deploykit.spi.ArtifactDelivery;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.Transport;
import dev.deploykit.transport.grpc.proto.EnsureArtifact;
import dev.deploykit.transport.grpc.proto.Exec;
import dev.deploykit.transport.grpc.proto.RunTask;
import dev.deploykit.transport.grpc.proto.TaskResult;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The {@code agent} transport: runs node work on agents connected to an {@link AgentGateway}. Each
 * command and each artifact placement is one task with its own id; the agent runs it and answers
 * with the result, streaming output meanwhile. If the agent drops and comes back, unanswered tasks
 * are re-sent with the same id and the agent answers from its journal. Thread-safe; obtained from
 * {@link AgentGateway#transport()}.
 */
public final class AgentTransport implements Transport {
    private static final Duration CANCEL_WAIT = Duration.ofSeconds(10);
    private final AgentGateway gateway;

    AgentTransport(AgentGateway gateway) {
        this.gateway = gateway;
    }

    @Override
    public String scheme() {
        return "agent";
    }

    /** Writes the heartbeats the gateway has not flushed yet (the DeployKit closes its store next); the gateway stays open. */
    @Override
    public void close() {
        gateway.transportClosed();
    }

    /** True while the server's agent is connected to this controller's gateway. */
    @Override
    public boolean reaches(Server server) {
        AgentLink link = gateway.link(server.binding().require("agentId"));
        return link != null && link.connected();
    }

    /**
     * A session on the server's agent. An agent that is not connected right now (it is reconnecting,
     * or this controller just restarted) is waited for up to the gateway's reconnect grace.
     */
    @Override
    public NodeSession open(Server server) {
        String agentId = server.binding().require("agentId");
        long deadline = System.nanoTime() + gateway.reconnectGrace().toNanos();
        AgentLink link;
        while ((link = gateway.link(agentId)) == null || !link.connected()) {
            if (System.nanoTime() > deadline) {
                throw new TransportException(server.id(), "agent " + agentId + " is not connected (waited "
                        + gateway.reconnectGrace().toSeconds() + " s)", null, true);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TransportException(server.id(), "cancelled while waiting for agent " + agentId, e, false);
            }
        }
        return new Session(server.id(), link);
    }

    private final class Session implements NodeSession {
        private final String serverId;
        private final AgentLink link;
        private String fenceScope = "";
        private long fenceEpoch;
        /** Set from another thread when the controller lost the deployment. */
        private volatile boolean abandoned;

        Session(String serverId, AgentLink link) {
            this.serverId = serverId;
            this.link = link;
        }

        @Override
        public Facts facts() {
            return link.facts();
        }

        @Override
        public String root() {
            return link.installRoot();
        }

        @Override
        public String ensureArtifact(Artifact artifact, ArtifactStore source) {
            return deliver(artifact, source).path();
        }

        /** Through a relay agent when the gateway's {@link RelayTree} has one free, else from the controller. */
        @Override
        public ArtifactDelivery deliver(Artifact artifact, ArtifactStore source) {
            // the agent may fetch this digest from the controller only while this task lives
            ArtifactOffers.Offer offer = gateway.offer(link.agentId, artifact.sha256(), source);
            RelayTree.Placement placement = gateway.relayTree.place(link.agentId, artifact, source);
            RunTask task = RunTask.newBuilder().setTaskId(newTaskId()).setEnsureArtifact(placement.step()).build();
            TaskResult result;
            long served;
            try {
                // a large artifact over a slow link takes a while: allow 10 s per MiB on top of the grace
                result = await(task, OutputListener.IGNORE, Duration.ofSeconds(60 + artifact.size() / 100_000));
            } finally {
                placement.done().run();
                served = offer.served();
                offer.close();
            }
            result.getRelayBytesMap().forEach(gateway::countRelayed);
            if (!result.getError().isEmpty()) {
                gateway.relayTree.failed(link.agentId, artifact.sha256());
                throw new TransportException(serverId, "agent could not place artifact " + artifact.sha256() + ": " + result.getError()
                        + (result.getArtifactNotesCount() == 0 ? "" : " (" + String.join("; ", result.getArtifactNotesList()) + ")"), null, true);
            }
            return new ArtifactDelivery(result.getArtifactPath(), placement.parent(), served, result.getRelayBytesMap(),
                    result.getArtifactNotesList());
        }

        @Override
        public ExecResult exec(Command command, OutputListener output) {
            return exec(newTaskId(), command, output);
        }

        /** The key becomes the agent's task id, so a re-sent step is answered from the agent's journal. */
        @Override
        public ExecResult exec(String key, Command command, OutputListener output) {
            Duration timeout = command.timeoutOr(Command.DEFAULT_TIMEOUT);
            Exec.Builder exec = Exec.newBuilder().addAllArgv(command.argv()).putAllEnv(command.env())
                    .setTimeoutMillis(timeout.toMillis());
            if (command.cwd() != null) {
                exec.setCwd(command.cwd());
            }
            if (command.runAs() != null) {
                exec.setRunAs(command.runAs());
            }
            RunTask task = RunTask.newBuilder().setTaskId(key).setExec(exec).setFencingScope(fenceScope).setFencingEpoch(fenceEpoch).build();
            TaskResult result = await(task, output, timeout);
            if (!result.getError().isEmpty()) {
                throw new TransportException(serverId, "agent could not run " + command.argv().get(0) + ": " + result.getError(), null, false);
            }
            return new ExecResult(result.getExitCode(), result.getTimedOut(), result.getStderrTail(), Duration.ofMillis(result.getTookMillis()));
        }

        /**
         * Sends the task and waits for its result; an interrupt cancels it on the agent, with the task's
         * fence (the agent refuses it when a newer owner has taken the scope).
         */
        private TaskResult await(RunTask task, OutputListener output, Duration expected) {
            AgentLink.Pending pending = link.submit(task, output);
            try {
                return pending.result().get(expected.plus(gateway.reconnectGrace()).toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                if (abandoned) {
                    // the new owner of the deployment may have re-sent this very task: leave it running
                    Thread.currentThread().interrupt();
                    throw new TransportException(serverId, "abandoned: this controller no longer owns the deployment", e, false);
                }
                link.cancel(task);
                try {
                    pending.result().get(CANCEL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException | ExecutionException | TimeoutException ignored) {
                    // the cancel was sent; the agent kills the process when it gets it
                }
                Thread.currentThread().interrupt();
                throw new TransportException(serverId, "cancelled", e, false);
            } catch (TimeoutException e) {
                throw new TransportException(serverId, "agent " + link.agentId + " did not answer task " + task.getTaskId()
                        + " in time" + (link.connected() ? "" : "; it is disconnected"), e, true);
            } catch (ExecutionException e) {
                throw new TransportException(serverId, "task failed: " + e.getCause(), e.getCause(), true);
            } finally {
                link.forget(pending);
            }
        }

        private String newTaskId() {
            return UUID.randomUUID().toString();
        }

        @Override
        public void abandon() {
            abandoned = true;
        }

        @Override
        public void fence(String scope, long epoch) {
            this.fenceScope = scope == null ? "" : scope;
            this.fenceEpoch = epoch;
        }

        @Override
        public void close() {
            // the agent's stream belongs to the gateway
        }
    }
}
