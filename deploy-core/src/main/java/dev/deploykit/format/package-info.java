/**
 * What a {@link dev.deploykit.spi.PackageFormat} author needs besides the SPI: the rules for archive
 * entry paths ({@link dev.deploykit.format.ArchivePaths}) and reads with hard limits
 * ({@link dev.deploykit.format.Bounded}), so that a hostile file can neither escape its staging
 * directory nor make the controller allocate what its headers claim. The built-in formats live in
 * {@code dev.deploykit.format.deb}, {@code .rpm} and {@code .script}. Public API.
 */
package dev.deploykit.format;
