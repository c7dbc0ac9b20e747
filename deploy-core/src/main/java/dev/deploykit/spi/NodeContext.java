package dev.deploykit.spi;

import dev.deploykit.Facts;

/**
 * What a {@link PackageFormat} needs to know about a node to compute its commands.
 *
 * @param facts        the node's OS facts (package family, OS id)
 * @param root         install root, {@code "/"} on real nodes
 * @param artifactPath where the package file is on the node, null when no artifact is involved
 */
public record NodeContext(Facts facts, String root, String artifactPath) {
    /** {@code path} (absolute, starting with {@code /}) under the install root. */
    public String underRoot(String path) {
        return root.equals("/") ? path : root.replaceAll("/+$", "") + path;
    }
}
