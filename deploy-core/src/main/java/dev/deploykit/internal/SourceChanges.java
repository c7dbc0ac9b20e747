package dev.deploykit.internal;

import dev.deploykit.DeployException;
import dev.deploykit.Package;
import dev.deploykit.SourceChange;
import dev.deploykit.spi.SecretSource;
import dev.deploykit.spi.SourceRevision;
import dev.deploykit.spi.Store;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * For previews: how a node's revision would move when the target package came from a source,
 * read from the {@code source.*} fields of the installed and target packages, with the revisions
 * in between asked of the registered source (a failure there only leaves the list empty).
 * Thread-safe.
 */
final class SourceChanges {
    private static final Logger log = LoggerFactory.getLogger(SourceChanges.class);
    static final int MAX_BETWEEN = 20;
    private final SourceRegistry sources;
    private final Store store;
    private final SecretSource secrets;

    SourceChanges(SourceRegistry sources, Store store, SecretSource secrets) {
        this.sources = sources;
        this.store = store;
        this.secrets = secrets;
    }

    /** The change, or null when {@code target} was not published from a source. */
    SourceChange of(Package target, String currentVersion) {
        Map<String, String> to = target.metadata().fields();
        if (!to.containsKey("source.revision")) {
            return null;
        }
        Map<String, String> from = currentVersion == null ? Map.of()
                : store.findPackage(target.name(), currentVersion).map(p -> p.metadata().fields()).orElse(Map.of());
        String fromId = to.get("source").equals(from.get("source")) ? from.get("source.revision") : null;
        if (fromId == null || fromId.equals(to.get("source.revision"))) {
            return new SourceChange(fromId == null ? null : from.get("source.short"), to.get("source.short"), List.of());
        }
        return new SourceChange(from.get("source.short"), to.get("source.short"), between(to.get("source"), fromId, to.get("source.revision")));
    }

    private List<String> between(String sourceName, String fromId, String toId) {
        return sources.get(sourceName).map(source -> {
            try {
                return source.between(fromId, toId, MAX_BETWEEN, secrets).stream().map(SourceChanges::line).toList();
            } catch (DeployException e) {
                log.debug("no revision list for the preview of source {}: {}", sourceName, e.getMessage());
                return List.<String>of();
            }
        }).orElse(List.of());
    }

    private static String line(SourceRevision r) {
        return r.shortId() + " " + r.author() + ": " + r.subject();
    }
}
