package dev.deploykit;

import dev.deploykit.spi.Source;
import java.util.List;
import java.util.Optional;

/**
 * Repositories registered by name, to publish revisions from with
 * {@link Packages#publishFrom(String, String)}; the name is also the published bundle's name.
 * Registrations live in this kit's memory only: a controller registers its sources when it starts
 * (controllers that share a store register the same ones). Obtained from {@link DeployKit#sources()}.
 * Thread-safe.
 *
 * <pre>{@code
 * kit.sources().register("shop", GitSource.of("https://git.example.com/shop.git", GitCredentials.token(Secret.of("shop-token"))));
 * Package v2 = kit.packages().publishFrom("shop", "refs/tags/v2.3.1");   // shop 2.3.1
 * }</pre>
 */
public interface Sources {
    /** As {@link #register(String, Source, BundleScripts)} with scripts from the repository's {@code deploy/}. */
    default Sources register(String name, Source source) {
        return register(name, source, BundleScripts.defaults());
    }

    /**
     * Registers {@code source} as {@code name} (a script bundle name). Registering the same source
     * and scripts again is harmless; another source under a registered name is a {@link ConflictException}.
     */
    Sources register(String name, Source source, BundleScripts scripts);

    Optional<Source> get(String name);

    /** Registered names, sorted. */
    List<String> names();
}
