package dev.deploykit.store.postgres;

import dev.deploykit.spi.support.DaemonThreads;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LISTENs on one PostgreSQL notification channel over a connection of its own, so waiters wake
 * when another controller writes instead of polling tightly. Waiters still re-check after their
 * own timeout, which covers a lost connection (reconnected with a pause).
 */
final class Notifier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Notifier.class);

    final String channel;
    private final String url;
    private final String user;
    private final String password;
    private final Thread thread;
    private long version;
    private volatile boolean closed;

    Notifier(String channel, String url, String user, String password) {
        this.channel = channel;
        this.url = url;
        this.user = user;
        this.password = password;
        this.thread = DaemonThreads.start("deploykit-listen-" + channel, this::listen);
    }

    private void listen() {
        while (!closed) {
            java.util.Properties props = new java.util.Properties();
            if (user != null) {
                props.setProperty("user", user);
            }
            if (password != null) {
                props.setProperty("password", password);
            }
            try (Connection c = DriverManager.getConnection(url, props); Statement s = c.createStatement()) {
                s.execute("listen " + channel);
                PGConnection pg = c.unwrap(PGConnection.class);
                while (!closed) {
                    PGNotification[] received = pg.getNotifications(500);
                    if (received != null && received.length > 0) {
                        bump();
                    }
                }
            } catch (SQLException e) {
                if (!closed) {
                    log.debug("listening on {} failed ({}); again in 1 s", channel, e.getMessage());
                    bump();
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }

    private synchronized void bump() {
        version++;
        notifyAll();
    }

    /** A number that changes whenever a notification arrives. */
    synchronized long version() {
        return version;
    }

    /** Waits until a notification newer than {@code seen} arrives or {@code max} passes. */
    synchronized void await(long seen, Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        long left;
        while (version == seen && !closed && (left = deadline - System.nanoTime()) > 0) {
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        synchronized (this) {
            notifyAll();
        }
    }
}
