package dev.deploykit.spi;

/** Receives a command's output a line at a time, as it is produced. */
@FunctionalInterface
public interface OutputListener {
    OutputListener IGNORE = (stream, line) -> {};

    /** {@code stream} is {@code "stdout"} or {@code "stderr"}; {@code line} has no line terminator. */
    void onLine(String stream, String line);
}
