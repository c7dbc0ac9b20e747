package dev.deploykit.spi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Where the controller looks up the value of a {@link dev.deploykit.Secret} when it dispatches a step.
 * Values are asked for at every dispatch and never kept by DeployKit. A Vault-like store implements
 * this interface (cache inside it if lookups are slow). Implementations must be thread-safe.
 *
 * <pre>{@code
 * DeployKit.builder().secrets(SecretSource.directory(Path.of("/run/secrets")))...
 * }</pre>
 */
@FunctionalInterface
public interface SecretSource {
    /** The value of secret {@code name}, or empty when this source does not know it. */
    Optional<String> lookup(String name);

    /** Knows no secret: a step that references one fails with "unknown secret". The default. */
    static SecretSource none() {
        return name -> Optional.empty();
    }

    /** Fixed values, for tests and embedding platforms that hold them already. */
    static SecretSource of(Map<String, String> values) {
        Map<String, String> copy = Map.copyOf(values);
        return name -> Optional.ofNullable(copy.get(name));
    }

    /**
     * From the controller's environment: secret {@code db-root} is variable {@code DEPLOYKIT_SECRET_DB_ROOT}
     * (upper case, every character other than a letter or digit becomes {@code _}).
     */
    static SecretSource environment() {
        return name -> Optional.ofNullable(System.getenv("DEPLOYKIT_SECRET_" + name.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_")));
    }

    /**
     * From files: secret {@code db/root} is the file {@code dir/db/root}, without one trailing
     * newline (the layout of Kubernetes and systemd credentials directories). Names cannot climb out
     * of {@code dir}.
     */
    static SecretSource directory(Path dir) {
        Path root = dir.toAbsolutePath().normalize();
        return name -> {
            Path file = root.resolve(name).normalize();
            if (!file.startsWith(root) || !Files.isRegularFile(file)) {
                return Optional.empty();
            }
            try {
                String value = Files.readString(file, StandardCharsets.UTF_8);
                return Optional.of(value.endsWith("\n") ? value.substring(0, value.length() - 1) : value);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read secret file " + file, e);
            }
        };
    }
}
