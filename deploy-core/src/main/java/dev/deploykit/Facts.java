package dev.deploykit;

import java.util.List;

/**
 * What a node reported about itself: {@code /etc/os-release} ID, VERSION_ID and ID_LIKE, the CPU
 * architecture, and the package family ({@code deb}, {@code rpm}, or {@code unknown}).
 */
public record Facts(String osId, String osVersion, List<String> idLike, String arch, String packageFamily) {
    public static final Facts UNKNOWN = new Facts("unknown", "", List.of(), "unknown", "unknown");

    public Facts {
        idLike = List.copyOf(idLike);
    }
}
