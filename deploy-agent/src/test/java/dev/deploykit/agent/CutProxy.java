package dev.deploykit.agent;

import java.io.IOException;

/**
 * A loopback TCP proxy that cuts every connection once, after {@code cutAfter} bytes went from the
 * server to the client, then keeps accepting: a broken link that comes back. A {@link FaultProxy}
 * with {@link FaultProxy#cutAfter} set.
 */
final class CutProxy extends FaultProxy {
    CutProxy(int target, long cutAfter) throws IOException {
        super(target);
        cutAfter(cutAfter);
    }

    boolean didCut() {
        return cuts() > 0;
    }
}
