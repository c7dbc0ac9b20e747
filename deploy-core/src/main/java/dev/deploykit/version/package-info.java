/**
 * Version order exactly as the package managers apply it: {@link dev.deploykit.version.DebianVersions}
 * (dpkg's {@code epoch:upstream-revision} with {@code ~} sorting first) and
 * {@link dev.deploykit.version.RpmVersions} (rpm's {@code rpmvercmp} on {@code epoch:version-release}).
 * Both are {@link java.util.Comparator}s of version strings. Public API.
 */
package dev.deploykit.version;
