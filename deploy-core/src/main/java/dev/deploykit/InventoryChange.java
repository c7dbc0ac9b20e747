package dev.deploykit;

import java.time.Instant;

/**
 * One change of a server's inventory ({@link Server#inventory()}), as kept in its history
 * ({@link Servers#inventoryHistory}).
 *
 * @param at          when DeployKit recorded it
 * @param serverId    the server
 * @param packageName the package
 * @param fromVersion the version before, null when it was not installed
 * @param toVersion   the version after, null when it was removed
 * @param source      how the change was seen
 */
public record InventoryChange(Instant at, String serverId, String packageName, String fromVersion, String toVersion,
        InventorySource source) {
    public InventoryChange {
        Checks.notNull("time of an inventory change", at);
        Checks.notNull("server of an inventory change", serverId);
        Checks.notNull("package of an inventory change", packageName);
        Checks.notNull("source of an inventory change", source);
    }

    /** For logs: {@code n01 web-app 1.0 -> absent (agent report)}. */
    @Override
    public String toString() {
        return serverId + " " + packageName + " " + (fromVersion == null ? "absent" : fromVersion) + " -> "
                + (toVersion == null ? "absent" : toVersion) + " (" + source.text() + ")";
    }
}
