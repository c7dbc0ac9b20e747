package dev.deploykit.server;

import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.Deployment;
import dev.deploykit.spi.support.DaemonThreads;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every event of every deployment on the store, whichever server process or reconciler started it,
 * told once each, in order per deployment, to the listeners (webhooks, metrics). Deployments are
 * looked for every second; one that had ended before the first look is history and is not told.
 */
final class DeploymentFeed implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DeploymentFeed.class);

    private final DeployKit kit;
    private final List<Consumer<DeployEvent>> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(DaemonThreads.factory("deploykit-feed"));
    /** The highest seq told per deployment followed; a deployment is followed once it is a key here. */
    private final Map<String, Long> told = new ConcurrentHashMap<>();
    private final Map<String, AutoCloseable> listening = new ConcurrentHashMap<>();
    private volatile boolean primed;

    DeploymentFeed(DeployKit kit) {
        this.kit = kit;
        timer.scheduleWithFixedDelay(this::look, 0, 1, TimeUnit.SECONDS);
    }

    void listen(Consumer<DeployEvent> listener) {
        listeners.add(listener);
    }

    private void look() {
        try {
            for (Deployment d : kit.deployments()) {
                if (told.containsKey(d.id())) {
                    continue;
                }
                told.put(d.id(), 0L);
                if (d.status().isTerminal() && !primed) {
                    continue; // history
                }
                if (!d.status().isTerminal()) {
                    listening.put(d.id(), d.onEvent(this::tell));
                }
                d.events().forEach(this::tell); // what happened before we listened; repeats are dropped by seq
            }
            primed = true;
        } catch (RuntimeException e) {
            log.warn("cannot list deployments: {}", e.toString());
        }
    }

    private void tell(DeployEvent e) {
        synchronized (told) {
            if (e.seq() <= told.getOrDefault(e.deploymentId(), 0L)) {
                return;
            }
            told.put(e.deploymentId(), e.seq());
            for (Consumer<DeployEvent> l : listeners) {
                try {
                    l.accept(e);
                } catch (RuntimeException x) {
                    log.warn("a deployment event listener failed on {}: {}", e, x.toString());
                }
            }
        }
        if (e instanceof DeployEvent.DeploymentStatusChanged s && s.status().isTerminal()) {
            AutoCloseable l = listening.remove(e.deploymentId());
            if (l != null) {
                try {
                    l.close();
                } catch (Exception ignored) {
                    // stopped listening anyway
                }
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        listening.values().forEach(l -> {
            try {
                l.close();
            } catch (Exception ignored) {
                // stopping anyway
            }
        });
    }
}
