package dev.deploykit.spi;

import dev.deploykit.Command;
import dev.deploykit.Facts;
import dev.deploykit.Package;
import dev.deploykit.PackageMetadata;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * A kind of package file ({@code deb}, {@code rpm}, {@code script}). Formats read files and
 * compute node commands; transports run them, so every transport shares one code path.
 * Implementations are stateless and thread-safe.
 */
public interface PackageFormat {
    /** Short name stored with each package: {@code deb}, {@code rpm}, {@code script}. */
    String name();

    /** True when {@code file} looks like this format (magic bytes), without a full parse. */
    boolean recognizes(Path file);

    /**
     * Parses the real file and returns its metadata. Throws
     * {@link dev.deploykit.PackageFormatException} for corrupt, truncated or malicious files, with
     * bounded memory whatever the file claims.
     */
    PackageMetadata inspect(Path file);

    /** Total order over this format's versions, exactly as the node's package tool orders them. */
    Comparator<String> versionOrder();

    /**
     * Commands that take the node from {@code currentVersion} (null when not installed) to
     * {@code pkg}: an install, an upgrade, or a downgrade, chosen by {@link #versionOrder()}.
     */
    List<Command> install(NodeContext node, Package pkg, String currentVersion);

    /** Commands that remove {@code packageName}, currently at {@code currentVersion}. */
    List<Command> remove(NodeContext node, String packageName, String currentVersion);

    /**
     * Commands that remove {@code packageName} and its configuration files ({@code Action.purge}); by
     * default {@link #remove}, for formats that keep no configuration apart from the package.
     */
    default List<Command> purge(NodeContext node, String packageName, String currentVersion) {
        return remove(node, packageName, currentVersion);
    }

    /** A command whose output {@link #parseInstalled} turns into the installed version. */
    Command queryInstalled(NodeContext node, String packageName);

    /** The installed version from {@link #queryInstalled}'s exit code and stdout, or null. */
    String parseInstalled(int exitCode, String stdout);

    /** False when this format cannot be installed on a node with these facts (a deb on an rpm node). */
    default boolean supports(Facts facts) {
        return true;
    }

    /**
     * A short cause for a failed install or remove read from the tool's stderr ("missing dependency",
     * "the dpkg lock is held by another process", "maintainer script failed"...), if recognized. When
     * the command wrote nothing to stderr (it timed out waiting, say) {@code stderr} is its last
     * output lines instead.
     */
    default Optional<String> diagnose(String stderr) {
        return Optional.empty();
    }

    /** A health check the package itself ships, if any. */
    default Optional<Command> healthCheck(NodeContext node, Package pkg) {
        return Optional.empty();
    }
}
