/**
 * The supported toolkit for transport and store authors: running a command as an argv list in its
 * own process group ({@link dev.deploykit.spi.support.ProcessRunner},
 * {@link dev.deploykit.spi.support.ProcessGroup}), turning output bytes into bounded lines
 * ({@link dev.deploykit.spi.support.LineSink}), SHA-256 while copying
 * ({@link dev.deploykit.spi.support.Sha256}), daemon threads
 * ({@link dev.deploykit.spi.support.DaemonThreads}), PEM files for TLS
 * ({@link dev.deploykit.spi.support.TlsFiles}) and trust that says why it refused a peer
 * ({@link dev.deploykit.spi.support.TlsTrust}). Public API: changes follow the project's
 * versioning, unlike {@code dev.deploykit.internal}.
 */
package dev.deploykit.spi.support;
