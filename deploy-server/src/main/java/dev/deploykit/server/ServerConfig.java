package dev.deploykit.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The server's configuration: a YAML file, then environment variables {@code DEPLOYKIT_SERVER_<KEY>}
 * over it ({@code DEPLOYKIT_SERVER_STORE_POSTGRES_URL} sets {@code store.postgres.url}). Strict: an
 * unknown key in the file, or an unknown {@code DEPLOYKIT_SERVER_} variable, is an error naming it.
 *
 * <pre>{@code
 * api: {host: 0.0.0.0, port: 8443, tlsCert: /etc/deploykit/api.crt, tlsKey: /etc/deploykit/api.key}
 * agents: {port: 7443, tlsCert: ..., tlsKey: ..., clientCa: ..., tokenFile: /etc/deploykit/agent-token}
 * ssh: {knownHosts: /etc/deploykit/known_hosts, identity: /etc/deploykit/id_ed25519}
 * store: {postgres: {url: "jdbc:postgresql://db/deploykit", user: deploykit, passwordFile: /etc/deploykit/db-password}}
 * tokensFile: /etc/deploykit/api-tokens.yaml
 * artifactDir: /var/lib/deploykit/artifacts
 * }</pre>
 *
 * @param api         the REST API listener
 * @param agents      the agent gateway listener
 * @param ssh         the SSH transport for servers registered with an ssh binding (optional)
 * @param store       where state lives
 * @param tokensFile  the API tokens (see {@link ApiTokens})
 * @param artifactDir the controller's artifact store
 * @param controllerId this process's id among controllers on one database (default: host name and pid)
 * @param webhooks    where deployment events are posted (see {@link Webhooks}); none by default
 */
record ServerConfig(Api api, Agents agents, Ssh ssh, Store store, Path tokensFile, Path artifactDir, String controllerId,
        List<Webhooks.Config> webhooks) {
    static final String ENV_PREFIX = "DEPLOYKIT_SERVER_";
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /**
     * @param insecurePlaintext serve HTTP without TLS: loopback demos only, logged loudly
     * @param maxUploadBytes    the largest package upload (default 4 GiB); uploads stream to disk
     */
    record Api(String host, Integer port, Path tlsCert, Path tlsKey, Boolean insecurePlaintext, Long maxUploadBytes) {}

    /** OpenSSH known_hosts to check host keys against, and the private key to log in with. */
    record Ssh(Path knownHosts, Path identity) {}

    /**
     * @param tokenFile             the fleet enrollment token agents present (a file, so it is not in the config)
     * @param maxNewAgentsPerMinute how many agents may register per minute (default 60): a bound on a flood of new ids
     */
    record Agents(String host, Integer port, Path tlsCert, Path tlsKey, Path clientCa, Path tokenFile, Boolean insecurePlaintext,
            Boolean trustSelfNamedAgents, Integer maxNewAgentsPerMinute) {}

    /** Exactly one of {@code postgres} and {@code memory: true}. */
    record Store(Postgres postgres, Boolean memory) {}

    record Postgres(String url, String user, Path passwordFile, String schema) {}

    /** Reads {@code file}, then {@code env} over it, and checks what must be there. */
    static ServerConfig load(Path file, Map<String, String> env) {
        ObjectNode tree;
        try {
            JsonNode read = file == null ? YAML.createObjectNode() : YAML.readTree(Files.readString(file));
            if (read == null || read.isMissingNode() || read.isNull()) {
                read = YAML.createObjectNode();
            }
            if (!read.isObject()) {
                throw new ConfigException(file + ": the top level must be a mapping of keys");
            }
            tree = (ObjectNode) read;
        } catch (JacksonException e) {
            throw new ConfigException(file + ":" + e.getLocation().getLineNr() + ":" + e.getLocation().getColumnNr() + " "
                    + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ConfigException("cannot read the config file " + file + ": " + e.getMessage());
        }
        applyEnv(tree, env);
        ServerConfig config;
        try {
            config = YAML.treeToValue(tree, ServerConfig.class);
        } catch (UnrecognizedPropertyException e) {
            throw new ConfigException((file == null ? "config" : file.toString()) + ": unknown key '" + path(e) + "' (known here: "
                    + e.getKnownPropertyIds() + ")");
        } catch (JacksonException e) {
            throw new ConfigException((file == null ? "config" : file.toString()) + ": " + e.getOriginalMessage());
        }
        return config.checked();
    }

    private static String path(UnrecognizedPropertyException e) {
        List<String> parts = new ArrayList<>();
        e.getPath().forEach(r -> parts.add(r.getFieldName()));
        return String.join(".", parts);
    }

    /** Every leaf key of the config as its environment variable name, e.g. STORE_POSTGRES_URL -> [store, postgres, url]. */
    static Map<String, List<String>> envKeys() {
        Map<String, List<String>> keys = new TreeMap<>();
        collect(ServerConfig.class, new ArrayList<>(), keys);
        return keys;
    }

    private static void collect(Class<?> type, List<String> prefix, Map<String, List<String>> into) {
        for (RecordComponent c : type.getRecordComponents()) {
            List<String> path = new ArrayList<>(prefix);
            path.add(c.getName());
            if (c.getType().isRecord()) {
                collect(c.getType(), path, into);
            } else {
                into.put(String.join("_", path.stream().map(ServerConfig::upperSnake).toList()), path);
            }
        }
    }

    private static String upperSnake(String camel) {
        return camel.replaceAll("([a-z])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
    }

    private static void applyEnv(ObjectNode tree, Map<String, String> env) {
        Map<String, List<String>> known = envKeys();
        for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
            if (!e.getKey().startsWith(ENV_PREFIX)) {
                continue;
            }
            List<String> path = known.get(e.getKey().substring(ENV_PREFIX.length()));
            if (path == null) {
                throw new ConfigException("unknown environment variable " + e.getKey() + " (known: "
                        + known.keySet().stream().map(k -> ENV_PREFIX + k).toList() + ")");
            }
            ObjectNode node = tree;
            for (String part : path.subList(0, path.size() - 1)) {
                node = node.get(part) instanceof ObjectNode child ? child : node.putObject(part);
            }
            node.put(path.get(path.size() - 1), e.getValue());
        }
    }

    private ServerConfig checked() {
        Api a = api == null ? new Api(null, null, null, null, null, null) : api;
        if (!Boolean.TRUE.equals(a.insecurePlaintext()) && (a.tlsCert() == null || a.tlsKey() == null)) {
            throw new ConfigException("api.tlsCert and api.tlsKey are required (or api.insecurePlaintext: true, for a loopback demo)");
        }
        Agents g = agents == null ? new Agents(null, null, null, null, null, null, null, null, null) : agents;
        if (!Boolean.TRUE.equals(g.insecurePlaintext()) && (g.tlsCert() == null || g.tlsKey() == null)) {
            throw new ConfigException("agents.tlsCert and agents.tlsKey are required (or agents.insecurePlaintext: true, for a demo)");
        }
        if (g.tokenFile() == null) {
            throw new ConfigException("agents.tokenFile is required: the enrollment token agents present");
        }
        Store s = store == null ? new Store(null, null) : store;
        boolean memory = Boolean.TRUE.equals(s.memory());
        if (memory == (s.postgres() != null)) {
            throw new ConfigException("store: set exactly one of store.postgres (production) and store.memory: true (a demo)");
        }
        if (s.postgres() != null && s.postgres().url() == null) {
            throw new ConfigException("store.postgres.url is required");
        }
        if (tokensFile == null) {
            throw new ConfigException("tokensFile is required: the API tokens and their roles");
        }
        if (artifactDir == null) {
            throw new ConfigException("artifactDir is required: where published packages are kept");
        }
        return new ServerConfig(a, g, ssh, s, tokensFile, artifactDir, controllerId, webhooks == null ? List.of() : webhooks);
    }

    /** A configuration error, naming the key or file at fault. */
    static final class ConfigException extends RuntimeException {
        ConfigException(String message) {
            super(message);
        }
    }
}
