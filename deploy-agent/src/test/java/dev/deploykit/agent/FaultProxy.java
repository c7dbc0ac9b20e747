package dev.deploykit.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback TCP proxy that injects network faults between a client (an agent) and a server (a
 * gateway): {@link #pause()} holds every byte both ways (new connections too) until
 * {@link #resume()}; {@link #cut()} closes every connection (new ones are accepted);
 * {@link #dropConnections(boolean)} refuses new ones and cuts the open ones; {@link #delay} holds a
 * random fraction of segments; {@link #stall} holds everything for a while; {@link #corruptAt}
 * flips one byte of the server-to-client stream; {@link #cutAfter} cuts once after that many bytes
 * went from the server to the client; {@link #limitDownstream} caps the server-to-client rate of all
 * connections together (a link's bandwidth). A segment is what one read returns, up to
 * {@link #SEGMENT_BYTES}. Thread-safe; the caller closes it.
 *
 * <pre>{@code
 * try (FaultProxy proxy = new FaultProxy(gateway.port())) {
 *     // start an agent with --controller 127.0.0.1:<proxy.port()>
 *     proxy.pause();
 *     ...
 *     proxy.resume();
 * }
 * }</pre>
 */
public class FaultProxy implements AutoCloseable {
    public static final int SEGMENT_BYTES = 64 * 1024;
    private final ServerSocket listener;
    private final int target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicLong downstream = new AtomicLong();
    private final Object gate = new Object();
    private volatile RateLimit downstreamLimit;
    /** Guarded by {@link #gate}. */
    private boolean paused;
    private volatile boolean dropping;
    private volatile long stallUntilNanos;
    private volatile double delayFraction;
    private volatile long delayMillis;
    private volatile long corruptOffset = -1;
    private volatile long cutAfter = -1;
    private final AtomicLong delayed = new AtomicLong();
    private final AtomicLong corrupted = new AtomicLong();
    private final AtomicLong cuts = new AtomicLong();

    public FaultProxy(int target) throws IOException {
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.target = target;
        Thread t = new Thread(this::accept, "fault-proxy");
        t.setDaemon(true);
        t.start();
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Holds every byte in both directions, on open and new connections, until {@link #resume()}. */
    public void pause() {
        synchronized (gate) {
            paused = true;
        }
    }

    public void resume() {
        synchronized (gate) {
            paused = false;
            gate.notifyAll();
        }
    }

    /** Closes every open connection; new connections are accepted. */
    public void cut() {
        cuts.incrementAndGet();
        for (Socket s : sockets) {
            closeQuietly(s);
        }
        sockets.clear();
    }

    /** While on, new connections are closed at once and the open ones are cut. */
    public void dropConnections(boolean on) {
        dropping = on;
        if (on) {
            cut();
        }
    }

    /** Holds everything (both ways) for {@code time} from now. */
    public void stall(Duration time) {
        stallUntilNanos = System.nanoTime() + time.toNanos();
    }

    /** Holds each segment, with probability {@code fraction}, for {@code time} before passing it on. */
    public void delay(double fraction, Duration time) {
        if (fraction < 0 || fraction > 1) {
            throw new IllegalArgumentException("fraction must be in 0..1, but was " + fraction);
        }
        delayMillis = time.toMillis();
        delayFraction = fraction;
    }

    /** Flips (XOR 0xFF) the byte at {@code offset} of the server-to-client stream, counted over all connections. */
    public void corruptAt(long offset) {
        corruptOffset = offset;
    }

    /** Cuts every connection once, after {@code bytes} went from the server to the client. */
    public void cutAfter(long bytes) {
        cutAfter = bytes;
    }

    /** Bytes passed from the server to the client so far, over all connections. */
    /** From now on, all connections together get at most {@code bytesPerSecond} from the server (0: no cap). */
    public void limitDownstream(long bytesPerSecond) {
        downstreamLimit = bytesPerSecond > 0 ? new RateLimit(bytesPerSecond) : null;
    }

    public long downstreamBytes() {
        return downstream.get();
    }

    public long delayedSegments() {
        return delayed.get();
    }

    public long corruptedBytes() {
        return corrupted.get();
    }

    /** How often connections were cut (by {@link #cut()}, {@link #dropConnections} or {@link #cutAfter}). */
    public long cuts() {
        return cuts.get();
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                if (dropping) {
                    closeQuietly(client);
                    continue;
                }
                Socket server = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(client);
                sockets.add(server);
                pump(client, server, false);
                pump(server, client, true);
            } catch (IOException e) {
                if (listener.isClosed()) {
                    return;
                }
            }
        }
    }

    private void pump(Socket from, Socket to, boolean toClient) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[SEGMENT_BYTES];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    hold();
                    RateLimit limit = downstreamLimit;
                    if (toClient && limit != null) {
                        limit.acquire(n);
                    }
                    if (toClient) {
                        long start = downstream.getAndAdd(n);
                        long at = corruptOffset;
                        if (at >= start && at < start + n) {
                            buf[(int) (at - start)] ^= (byte) 0xFF;
                            corruptOffset = -1;
                            corrupted.incrementAndGet();
                        }
                        long after = cutAfter;
                        if (after >= 0 && start + n > after) {
                            out.write(buf, 0, n);
                            cutAfter = -1;
                            cut();
                            return;
                        }
                    }
                    out.write(buf, 0, n);
                }
            } catch (IOException | InterruptedException ignored) {
                // the other side closed, or we cut it
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                sockets.remove(from);
                sockets.remove(to);
            }
        }, "fault-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    /** Waits while paused or stalled, and for a segment's delay. */
    private void hold() throws InterruptedException {
        synchronized (gate) {
            while (paused) {
                gate.wait();
            }
        }
        long stall = stallUntilNanos - System.nanoTime();
        if (stall > 0) {
            Thread.sleep(stall / 1_000_000, (int) (stall % 1_000_000));
        }
        double fraction = delayFraction;
        if (fraction > 0 && ThreadLocalRandom.current().nextDouble() < fraction) {
            delayed.incrementAndGet();
            Thread.sleep(delayMillis);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        resume();
        listener.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
