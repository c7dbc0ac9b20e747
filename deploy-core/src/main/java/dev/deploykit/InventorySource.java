package dev.deploykit;

/** How an inventory change was seen: recorded with each {@link InventoryChange}. */
public enum InventorySource {
    /** An agent reported it: on connecting, or when it saw its package database change. */
    AGENT_REPORT("agent report"),
    /** An agent reported it right after running a task. */
    AFTER_TASK("after task"),
    /** A deployment's step queried, installed or removed the package. */
    DEPLOYMENT("deployment"),
    /** {@link Servers#refresh} queried the node. */
    REFRESH("refresh"),
    /** A periodic poll of an agentless (SSH) node listed its packages. */
    POLL("poll");

    private final String text;

    InventorySource(String text) {
        this.text = text;
    }

    /** The words for this source in a history line, e.g. "agent report". */
    public String text() {
        return text;
    }
}
