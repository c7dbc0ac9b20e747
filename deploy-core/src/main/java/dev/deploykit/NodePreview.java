package dev.deploykit;

/**
 * What a plan would do on one node, computed from the store without touching the node.
 *
 * @param currentVersion version in the server's last seen inventory, null if none
 * @param targetVersion  version the plan installs, null for remove and scripts
 * @param noop           true when the node is already where the plan would take it
 * @param batch          batch number the node would run in (0 is the canary when there is one)
 */
public record NodePreview(String serverId, String currentVersion, String targetVersion, boolean noop, int batch, boolean canary) {}
