package dev.deploykit.spi.support;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Daemon threads with names that say whose they are ({@code deploykit-node-3}), for the executors
 * and loops of the engine, transports, stores and the agent. Daemon, so that a library never keeps
 * its host's JVM alive; whoever starts a thread still stops it on close.
 *
 * <pre>{@code
 * ExecutorService pool = Executors.newCachedThreadPool(DaemonThreads.factory("mytransport-io-"));
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class DaemonThreads {
    private DaemonThreads() {}

    /** A factory naming its threads {@code prefix1}, {@code prefix2}, ... */
    public static ThreadFactory factory(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Starts {@code body} on a new daemon thread called {@code name}. */
    public static Thread start(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
