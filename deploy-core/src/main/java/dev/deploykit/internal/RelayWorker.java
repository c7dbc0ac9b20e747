package dev.deploykit.internal;

import dev.deploykit.Server;
import dev.deploykit.TransportException;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.Relay;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the steps other controllers relay to nodes this controller reaches: claims them, runs each
 * through the local transport with its key, and reports output, liveness and the outcome. A step
 * whose requester gave up is interrupted.
 */
final class RelayWorker {
    private static final Logger log = LoggerFactory.getLogger(RelayWorker.class);
    private static final Duration REPORT_EVERY = Duration.ofMillis(300);

    private final Engine engine;
    private final Relay relay;
    private final Map<Long, Running> running = new ConcurrentHashMap<>();
    private volatile boolean stopped;

    /** A claimed step in progress: its thread and the output not reported yet. */
    private static final class Running {
        final Thread thread;
        final List<Relay.Line> pending = new ArrayList<>();
        /** Guarded by this: set once the outcome is reported, after which nothing more is. */
        boolean done;

        Running(Thread thread) {
            this.thread = thread;
        }

        synchronized List<Relay.Line> drain() {
            List<Relay.Line> lines = List.copyOf(pending);
            pending.clear();
            return lines;
        }

        synchronized void add(String stream, String line) {
            pending.add(new Relay.Line(stream, line));
        }
    }

    RelayWorker(Engine engine, Relay relay, ScheduledExecutorService timer) {
        this.engine = engine;
        this.relay = relay;
        timer.scheduleWithFixedDelay(this::reportAll, REPORT_EVERY.toMillis(), REPORT_EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Claims and starts steps until {@link #stop}. */
    void loop() {
        while (!stopped && !Thread.currentThread().isInterrupted()) {
            try {
                for (Relay.Claimed claimed : relay.claim(this::reaches, 16, Duration.ofSeconds(1))) {
                    engine.nodeThreads.submit(() -> run(claimed));
                }
            } catch (RuntimeException e) {
                if (!stopped) {
                    log.warn("claiming relayed steps failed: {}", e.getMessage());
                    sleepQuietly();
                }
            }
        }
    }

    void stop() {
        stopped = true;
        running.values().forEach(r -> r.thread.interrupt());
    }

    private boolean reaches(String serverId) {
        Optional<Server> server = engine.store.server(serverId);
        return server.isPresent() && engine.transport(server.get().binding().scheme()).reaches(server.get());
    }

    private void run(Relay.Claimed claimed) {
        Running me = new Running(Thread.currentThread());
        running.put(claimed.id(), me);
        Relay.Outcome outcome;
        Set<String> secretValues = Set.of();
        try {
            Server server = engine.store.server(claimed.serverId()).orElseThrow(
                    () -> new TransportException(claimed.serverId(), "no server " + claimed.serverId(), null, false));
            try (NodeSession session = engine.transport(server.binding().scheme()).open(server)) {
                if (claimed.step() instanceof Relay.Exec exec) {
                    session.fence(exec.fenceScope(), exec.fenceEpoch());
                    OutputListener output = me::add;
                    Secrets.Resolved resolved = engine.secrets.resolve(exec.command());
                    secretValues = resolved.values();
                    outcome = new Relay.Outcome(resolved.masked(session.exec(exec.key(), resolved.command(), resolved.masking(output))),
                            null, null, false);
                } else {
                    Relay.PlaceArtifact place = (Relay.PlaceArtifact) claimed.step();
                    outcome = new Relay.Outcome(null, session.ensureArtifact(place.artifact(), engine.artifacts), null, false);
                }
            }
        } catch (TransportException e) {
            outcome = new Relay.Outcome(null, null, Secrets.mask(e.getMessage(), secretValues), e.retryable());
        } catch (RuntimeException e) {
            String why = Secrets.mask(e.toString(), secretValues);
            log.warn("relayed step {} on {} failed: {}", claimed.id(), claimed.serverId(), why);
            outcome = new Relay.Outcome(null, null, why, false);
        } finally {
            running.remove(claimed.id());
            Thread.interrupted();
        }
        try {
            synchronized (me) {
                me.done = true;
                relay.report(claimed.id(), me.drain());
                relay.finish(claimed.id(), outcome);
            }
        } catch (RuntimeException e) {
            log.warn("cannot report the outcome of relayed step {} on {}: {}", claimed.id(), claimed.serverId(), e.getMessage());
        }
    }

    /** Streams output and keeps claims alive; stops steps nobody waits for any more. */
    private void reportAll() {
        running.forEach((id, r) -> {
            try {
                synchronized (r) {
                    if (!r.done && !relay.report(id, r.drain())) {
                        log.info("relayed step {} was abandoned by its requester; stopping it", id);
                        r.thread.interrupt();
                    }
                }
            } catch (RuntimeException e) {
                log.warn("cannot report relayed step {}: {}", id, e.getMessage());
            }
        });
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
