package dev.deploykit.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.deploykit.spi.support.Sha256;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The API tokens: a YAML file listing each token's name, role, optional groups and the SHA-256 of
 * the token (never the token itself, so the file is no secret):
 *
 * <pre>{@code
 * tokens:
 *   - {name: ci-bot, role: deployer, groups: [web], sha256: 9f86d08188...}
 *   - {name: alice, role: admin, sha256: 60303ae22b...}
 * }</pre>
 *
 * <p>{@code deploy-server --new-token NAME ROLE} prints a fresh token and its line for this file.
 */
final class ApiTokens {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** What a token may do; each role may do what the ones before it may. */
    enum Role {
        /** Reads everything. */
        VIEWER,
        /** Also publishes packages, starts and steers deployments, cordons servers, pins groups. */
        DEPLOYER,
        /** Also registers and removes servers and groups. */
        ADMIN;

        boolean allows(Role needed) {
            return compareTo(needed) >= 0;
        }
    }

    /**
     * Who calls: a token's name and what it may do.
     *
     * @param groups the groups it is confined to; empty for every group
     */
    record Caller(String name, Role role, Set<String> groups) {
        boolean confined() {
            return !groups.isEmpty();
        }
    }

    record Entry(String name, String role, List<String> groups, String sha256) {}

    record File(List<Entry> tokens) {}

    private final List<Entry> entries;
    private final List<byte[]> digests;

    private ApiTokens(List<Entry> entries) {
        this.entries = entries;
        this.digests = entries.stream().map(e -> HexFormat.of().parseHex(e.sha256())).toList();
    }

    static ApiTokens load(Path file) {
        File f;
        try {
            f = YAML.readValue(Files.readString(file), File.class);
        } catch (JacksonException e) {
            throw new ServerConfig.ConfigException(file + ":" + e.getLocation().getLineNr() + ":" + e.getLocation().getColumnNr() + " "
                    + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ServerConfig.ConfigException("cannot read the tokens file " + file + ": " + e.getMessage());
        }
        List<Entry> entries = f == null || f.tokens() == null ? List.of() : f.tokens();
        Set<String> names = new HashSet<>();
        for (Entry e : entries) {
            if (e.name() == null || e.name().isBlank() || !names.add(e.name())) {
                throw new ServerConfig.ConfigException(file + ": each token needs a name of its own, but found '" + e.name() + "'");
            }
            role(file, e);
            if (e.sha256() == null || !e.sha256().matches("[0-9a-f]{64}")) {
                throw new ServerConfig.ConfigException(file + ": token " + e.name() + ": sha256 must be 64 lowercase hex digits");
            }
        }
        return new ApiTokens(entries);
    }

    private static Role role(Path file, Entry e) {
        try {
            return Role.valueOf(String.valueOf(e.role()).toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException x) {
            throw new ServerConfig.ConfigException(file + ": token " + e.name() + ": role must be viewer, deployer or admin, but was '"
                    + e.role() + "'");
        }
    }

    /** The caller a bearer token belongs to; every entry is compared, in constant time each. */
    Optional<Caller> authenticate(String token) {
        byte[] digest = Sha256.newDigest().digest(token.getBytes(StandardCharsets.UTF_8));
        Entry found = null;
        for (int i = 0; i < entries.size(); i++) {
            if (MessageDigest.isEqual(digest, digests.get(i))) {
                found = entries.get(i);
            }
        }
        if (found == null) {
            return Optional.empty();
        }
        return Optional.of(new Caller(found.name(), Role.valueOf(found.role().toUpperCase(Locale.ROOT)),
                found.groups() == null ? Set.of() : Set.copyOf(found.groups())));
    }

    /** The tokens file line for {@code token}. */
    static String line(String name, Role role, String token) {
        return "  - {name: " + name + ", role: " + role.name().toLowerCase(Locale.ROOT) + ", sha256: "
                + HexFormat.of().formatHex(Sha256.newDigest().digest(token.getBytes(StandardCharsets.UTF_8))) + "}";
    }
}
