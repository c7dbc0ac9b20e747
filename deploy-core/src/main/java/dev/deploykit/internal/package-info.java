/**
 * Engine internals. <strong>Not API</strong>: anything here may change in any release without notice.
 */
package dev.deploykit.internal;
