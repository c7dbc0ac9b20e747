/**
 * Interfaces that plugin authors implement: {@link dev.deploykit.spi.Transport},
 * {@link dev.deploykit.spi.PackageFormat}, {@link dev.deploykit.spi.Store} and
 * {@link dev.deploykit.spi.ArtifactStore}. Each has a conformance suite in the {@code deploy-core}
 * test-jar ({@code TransportContract}, {@code StoreContract}, {@code PackageFormatContract}) that an
 * implementation runs by extending it.
 */
package dev.deploykit.spi;
