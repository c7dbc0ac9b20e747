package dev.deploykit.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback TCP proxy that cuts every connection once, after {@code cutAfter} bytes went from the
 * server to the client, then keeps accepting: a broken link that comes back.
 */
final class CutProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int target;
    private final long cutAfter;
    private final AtomicLong downstream = new AtomicLong();
    private final AtomicBoolean cut = new AtomicBoolean();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    CutProxy(int target, long cutAfter) throws IOException {
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.target = target;
        this.cutAfter = cutAfter;
        Thread t = new Thread(this::accept, "cut-proxy");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    boolean didCut() {
        return cut.get();
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(client);
                sockets.add(server);
                pump(client, server, false);
                pump(server, client, true);
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to, boolean countDown) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    out.write(buf, 0, n);
                    if (countDown && downstream.addAndGet(n) > cutAfter && cut.compareAndSet(false, true)) {
                        sockets.forEach(s -> {
                            try {
                                s.close();
                            } catch (IOException ignored) {
                                // already closed
                            }
                        });
                        sockets.clear();
                        return;
                    }
                }
            } catch (IOException ignored) {
                // the other side closed, or we cut it
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // nothing left to do
                }
            }
        }, "cut-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
