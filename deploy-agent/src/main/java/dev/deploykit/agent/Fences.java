package dev.deploykit.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;

/**
 * The highest fencing epoch this agent has seen per scope (a deployment), kept in the state dir so
 * it survives restarts. A task with a lower epoch comes from a controller that lost the deployment
 * to another, and is refused; so is a cancel of such a task. Epoch 0 (or no scope) is not fenced, but
 * once a scope has an epoch, epoch 0 in it is refused like any lower one. Thread-safe.
 */
final class Fences {
    private final Path dir;
    private final Map<String, Long> highest = new HashMap<>();

    Fences(Path stateDir) throws IOException {
        this.dir = PrivateFiles.directory(stateDir.resolve("fences"));
    }

    /**
     * Null when a {@code what} ("task", "cancel") fenced by {@code scope}/{@code epoch} may act (the
     * epoch is then remembered); else why not.
     */
    synchronized String admit(String scope, long epoch, String what) throws IOException {
        if (scope.isEmpty()) {
            return null;
        }
        Path file = dir.resolve(StepRunner.safe(scope));
        long seen = highest.computeIfAbsent(scope, s -> read(file));
        if (epoch < seen) {
            return "refused: " + scope + " is now run at fencing epoch " + seen + ", and this " + what + " came "
                    + (epoch <= 0 ? "unfenced (epoch 0)" : "with epoch " + epoch) + " from a controller that no longer owns it";
        }
        if (epoch > seen) {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            PrivateFiles.writeString(tmp, Long.toString(epoch));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            highest.put(scope, epoch);
        }
        return null;
    }

    private static long read(Path file) {
        try {
            return Files.exists(file) ? Long.parseLong(Files.readString(file, StandardCharsets.UTF_8).trim()) : 0;
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }
}
