package dev.deploykit.transport.grpc;

import dev.deploykit.Facts;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.transport.grpc.proto.CancelTask;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import dev.deploykit.transport.grpc.proto.RunTask;
import dev.deploykit.transport.grpc.proto.TaskOutput;
import dev.deploykit.transport.grpc.proto.TaskResult;
import io.grpc.stub.StreamObserver;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One agent as the controller knows it, across reconnects: its facts, its current stream (if
 * connected) and the tasks sent to it that have no result yet. When the agent reconnects, those
 * tasks are sent again with the same ids; the agent's journal makes that harmless. Thread-safe.
 *
 * <p>Output is delivered to each task's listener exactly once and in order: the agent numbers its
 * lines, a line that is not the next one expected is dropped (a duplicate, or one after lines that a
 * broken stream lost), a re-sent task tells the agent how many lines of each stream are here, and a
 * result that counts more lines than arrived is answered by sending the task again, which the agent
 * answers from its journal with the missing lines first.
 */
final class AgentLink {
    /** Times a result that counts more lines than arrived is answered by asking again, before it is taken as is. */
    private static final int MAX_OUTPUT_ASKS = 3;

    /** A task awaiting its result. */
    record Pending(RunTask task, OutputListener output, CompletableFuture<TaskResult> result, Lines lines) {
        /** The task to send (again): with the output lines this controller has. */
        RunTask toSend() {
            synchronized (lines) {
                return task.toBuilder().setStdoutLinesSeen(lines.stdout).setStderrLinesSeen(lines.stderr).build();
            }
        }
    }

    /** The output lines of one task delivered so far, per stream. Guarded by itself. */
    static final class Lines {
        private long stdout;
        private long stderr;
        private int asks;
    }

    final String agentId;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private StreamObserver<ControllerMessage> stream;
    private volatile Facts facts = Facts.UNKNOWN;
    private volatile String installRoot = "/";
    private volatile Instant lastSeen = Instant.EPOCH;
    private volatile String remote = "?";
    private volatile Instant connectedSince = Instant.EPOCH;
    private volatile String fingerprint;
    private volatile String relayEndpoint;
    private volatile Map<String, String> labels = Map.of();

    AgentLink(String agentId) {
        this.agentId = agentId;
    }

    /** A (re)connected stream: later tasks go there, and unanswered ones are sent again. */
    synchronized void attach(StreamObserver<ControllerMessage> newStream, Facts newFacts, String root, String from, String certFingerprint) {
        this.stream = newStream;
        this.facts = newFacts;
        this.installRoot = root;
        this.lastSeen = Instant.now();
        this.connectedSince = lastSeen;
        this.remote = from;
        this.fingerprint = certFingerprint;
        pending.values().forEach(p -> send(ControllerMessage.newBuilder().setRun(p.toSend()).build()));
    }

    synchronized void detach(StreamObserver<ControllerMessage> oldStream) {
        if (stream == oldStream) {
            stream = null;
        }
    }

    synchronized boolean connected() {
        return stream != null;
    }

    /** Ends the current stream with {@code status} (a replaced or revoked connection). */
    synchronized void disconnect(io.grpc.Status status) {
        if (stream != null) {
            try {
                stream.onError(status.asRuntimeException());
            } catch (RuntimeException e) {
                // already broken: nothing more to tell it
            }
            stream = null;
        }
    }

    /** Tells the connected agent something its operator should see in its log. */
    void notice(String text) {
        send(ControllerMessage.newBuilder().setNotice(dev.deploykit.transport.grpc.proto.Notice.newBuilder().setText(text)).build());
    }

    String remote() {
        return remote;
    }

    Instant connectedSince() {
        return connectedSince;
    }

    /** The SHA-256 of the certificate of the current connection; null without mutual TLS. */
    String fingerprint() {
        return fingerprint;
    }

    Facts facts() {
        return facts;
    }

    String installRoot() {
        return installRoot;
    }

    /** Where this agent serves peers as a relay (only for an agent its certificate identified); null: not a relay. */
    String relayEndpoint() {
        return relayEndpoint;
    }

    Map<String, String> labels() {
        return labels;
    }

    void relay(String endpoint, Map<String, String> agentLabels) {
        this.relayEndpoint = endpoint == null || endpoint.isEmpty() ? null : endpoint;
        this.labels = Map.copyOf(agentLabels);
    }

    Instant lastSeen() {
        return lastSeen;
    }

    void seen() {
        lastSeen = Instant.now();
    }

    /** Registers the task and sends it if the agent is connected (else it goes on reconnect). */
    Pending submit(RunTask task, OutputListener output) {
        Pending p = new Pending(task, output, new CompletableFuture<>(), new Lines());
        pending.put(task.getTaskId(), p);
        synchronized (this) {
            if (stream != null) {
                send(ControllerMessage.newBuilder().setRun(task).build());
            }
        }
        return p;
    }

    /**
     * Cancels {@code task}, fenced like it so that the agent refuses the cancel of a controller that
     * lost the task's scope. The fence is the caller's own: another submit of the same task id (a new
     * owner's re-send relayed through this controller) may have taken its place here.
     */
    void cancel(RunTask task) {
        send(ControllerMessage.newBuilder().setCancel(CancelTask.newBuilder().setTaskId(task.getTaskId())
                .setFencingScope(task.getFencingScope()).setFencingEpoch(task.getFencingEpoch())).build());
    }

    /** Stops waiting for {@code p}; a later submit of the same task id that took its place stays. */
    void forget(Pending p) {
        pending.remove(p.task().getTaskId(), p);
    }

    void output(TaskOutput output) {
        Pending p = pending.get(output.getTaskId());
        if (p == null) {
            return;
        }
        boolean stdout = output.getStream().equals("stdout");
        if (!output.hasFirstLine() || !(stdout || output.getStream().equals("stderr"))) {
            output.getLinesList().forEach(line -> p.output().onLine(output.getStream(), line));
            return;
        }
        synchronized (p.lines()) {
            long index = output.getFirstLine();
            for (String line : output.getLinesList()) {
                long have = stdout ? p.lines().stdout : p.lines().stderr;
                if (index++ != have) {
                    continue;
                }
                p.output().onLine(output.getStream(), line);
                if (stdout) {
                    p.lines().stdout++;
                } else {
                    p.lines().stderr++;
                }
            }
        }
    }

    void result(TaskResult result) {
        Pending p = pending.get(result.getTaskId());
        if (p == null) {
            return;
        }
        boolean askAgain;
        synchronized (p.lines()) {
            boolean missing = result.hasStdoutLines() && (result.getStdoutLines() > p.lines().stdout
                    || result.getStderrLines() > p.lines().stderr);
            askAgain = missing && p.lines().asks++ < MAX_OUTPUT_ASKS;
        }
        if (askAgain) {
            // lines went to a stream that broke: ask again, the agent answers from its journal with them first
            send(ControllerMessage.newBuilder().setRun(p.toSend()).build());
            return;
        }
        if (pending.remove(result.getTaskId(), p)) {
            p.result().complete(result);
        }
    }

    synchronized void send(ControllerMessage message) {
        if (stream == null) {
            return;
        }
        try {
            stream.onNext(message);
        } catch (RuntimeException e) {
            // the stream broke under us; the agent will reconnect and get its tasks again
            stream = null;
        }
    }
}
