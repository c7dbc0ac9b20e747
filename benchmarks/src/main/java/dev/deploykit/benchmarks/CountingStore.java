package dev.deploykit.benchmarks;

import dev.deploykit.spi.Store;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the calls the engine makes on its {@link Store}, by method, and passes each to the real
 * store: a report can then say which store calls (and so which transactions) a workload costs, next
 * to PostgreSQL's own counters. Thread-safe; closing the proxy closes the real store.
 */
final class CountingStore {
    /** Store methods that change rows (each one transaction in the PostgreSQL store). */
    static final Set<String> WRITES = Set.of("putServer", "removeServer", "updateLastSeen", "recordInventory", "putGroup",
            "removeGroup", "putPackage", "removePackage", "createDeployment", "append", "putScriptSet", "putPin", "removePin",
            "holdServer", "acquireLease", "releaseLease", "acquire", "release");

    private final Map<String, LongAdder> calls = new ConcurrentHashMap<>();
    private final Store proxy;

    CountingStore(Store target) {
        this.proxy = (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class}, (p, method, args) -> {
            calls.computeIfAbsent(method.getName(), k -> new LongAdder()).increment();
            try {
                return method.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    /** The store to give the DeployKit. */
    Store store() {
        return proxy;
    }

    /** Calls so far, by method name. */
    Map<String, Long> counts() {
        Map<String, Long> now = new TreeMap<>();
        calls.forEach((name, n) -> now.put(name, n.sum()));
        return now;
    }
}
