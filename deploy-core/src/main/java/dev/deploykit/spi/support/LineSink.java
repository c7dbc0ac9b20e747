package dev.deploykit.spi.support;

import dev.deploykit.spi.OutputListener;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Turns a command's output bytes into lines for an {@link OutputListener}: UTF-8, split on
 * {@code \n} (a trailing {@code \r} dropped), each line cut at {@link #MAX_LINE} bytes so a step
 * that prints a binary blob cannot exhaust memory. Optionally keeps the last lines for error
 * messages. Every transport feeds its process output through one of these per stream; the two
 * sinks of a command share a lock so the listener sees one line at a time.
 */
public final class LineSink extends OutputStream {
    /** Longest line kept, in bytes; the rest of a longer line is dropped. */
    public static final int MAX_LINE = 8 * 1024;
    private final String stream;
    private final OutputListener listener;
    private final Object lock;
    private final int tailLines;
    private final Deque<String> tail = new ArrayDeque<>();
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private boolean pending;

    /** A sink for {@code stream} ("stdout"/"stderr") keeping the last {@code tailLines} lines. */
    public LineSink(String stream, OutputListener listener, Object lock, int tailLines) {
        this.stream = stream;
        this.listener = listener;
        this.lock = lock;
        this.tailLines = tailLines;
    }

    @Override
    public void write(int b) {
        if (b == '\n') {
            emit();
            return;
        }
        pending = true;
        if (line.size() < MAX_LINE) {
            line.write(b);
        }
    }

    @Override
    public void write(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            write(b[i]);
        }
    }

    /** Emits a last line that had no terminating newline. */
    @Override
    public void close() {
        if (pending) {
            emit();
        }
    }

    /** The kept last lines, joined by newlines. */
    public String tail() {
        synchronized (lock) {
            return String.join("\n", tail);
        }
    }

    private void emit() {
        byte[] bytes = line.toByteArray();
        int len = bytes.length;
        if (len > 0 && bytes[len - 1] == '\r') {
            len--;
        }
        String text = new String(bytes, 0, len, StandardCharsets.UTF_8);
        line.reset();
        pending = false;
        synchronized (lock) {
            if (tailLines > 0) {
                tail.addLast(text);
                if (tail.size() > tailLines) {
                    tail.removeFirst();
                }
            }
            listener.onLine(stream, text);
        }
    }
}
