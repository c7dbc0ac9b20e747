/**
 * The supported toolkit for transport and store authors: running a command as an argv list in its
 * own process group ({@link dev.deploykit.spi.support.ProcessRunner},
 * {@link dev.deploykit.spi.support.ProcessGroup}), turning output bytes into bounded lines
 * ({@link dev.deploykit.spi.support.LineSink}), SHA-256 while copying
 * ({@link dev.deploykit.spi.support.Sha256}) and daemon threads
 * ({@link dev.deploykit.spi.support.DaemonThreads}). Public API: changes follow the project's
 * versioning, unlike {@code dev.deploykit.internal}.
 */
package dev.deploykit.spi.support;
