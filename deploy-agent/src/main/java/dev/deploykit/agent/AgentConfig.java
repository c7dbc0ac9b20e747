package dev.deploykit.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The agent's settings, from flags and/or a config file ({@code --config FILE}, {@code key=value}
 * lines with the flag names without dashes; flags win). Errors name the bad flag.
 *
 * @param controllers   {@code host:port} of each controller's agent gateway, tried in turn after a drop
 * @param token         the fleet token (read from {@code --token-file}); null when the gateway needs none
 * @param enrollTokenFile a limited-use enrollment token, for an agent that has no certificate yet
 * @param stateDir      identity, journal and artifact cache
 * @param caFile        CA that signed the controller's certificate; required unless insecure
 * @param certFile      this agent's client certificate, for mutual TLS
 * @param keyFile       this agent's private key, for mutual TLS
 * @param insecure      plaintext, only when asked for with {@code --insecure}
 * @param labels        {@code --label role=web} (repeatable)
 * @param agentId       {@code --id}; default: generated once and kept in the state dir
 * @param installRoot   {@code --root}: install root other than {@code /} (simulated nodes)
 * @param cacheMaxBytes artifact cache cap ({@code --cache-max-mib}, default 10240)
 * @param keepAliveSeconds how often the agent pings a quiet connection, and how long it waits for the
 *                      answer before it takes the connection as broken ({@code --keepalive-seconds}, default 30)
 */
record AgentConfig(List<String> controllers, String token, Path enrollTokenFile, Path stateDir, Path caFile, Path certFile,
        Path keyFile, boolean insecure, Map<String, String> labels, String agentId, String installRoot, long cacheMaxBytes,
        int keepAliveSeconds) {

    /** The same settings with this agent's own certificate and key (after enrollment). */
    AgentConfig withCertificate(Path cert, Path key) {
        return new AgentConfig(controllers, token, enrollTokenFile, stateDir, caFile, cert, key, insecure, labels, agentId,
                installRoot, cacheMaxBytes, keepAliveSeconds);
    }

    static final String USAGE = """
            usage: java -jar deploy-agent.jar --controller HOST:PORT[,HOST:PORT...] --ca FILE
                     (--cert FILE --key FILE | --enroll-token-file FILE | --token-file FILE) [options]
              --controller          the controllers' agent gateways; with several, the agent moves to the
                                    next one whenever its connection drops (controllers sharing a database)
              --state-dir DIR       identity, task journal, artifact cache (default /var/lib/deploykit-agent)
              --ca FILE             CA certificate that signed the controller's certificate (TLS)
              --cert FILE --key FILE  this agent's certificate and key (mutual TLS); its id is the certificate's
              --enroll-token-file FILE  first start without a certificate: enroll with this limited-use token;
                                    the key and the signed certificate are kept in the state dir
              --token-file FILE     the fleet token, when the controller asks for one (alone: demo mode)
              --insecure            plaintext gRPC: demos and tests on loopback only
              --label KEY=VALUE     a server label, repeatable
              --id ID               agent id (default: generated once, kept in the state dir)
              --root DIR            install root other than / (simulated nodes)
              --cache-max-mib N     artifact cache size cap (default 10240)
      --keepalive-seconds N ping a quiet connection every N s, drop it after N s without an answer
                            (default 30; the gateway must permit pings that often)
              --config FILE         key=value file with the same names, without dashes
            """;

    static AgentConfig parse(String[] args) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + arg + "'\n" + USAGE);
            }
            String name = arg.substring(2);
            if (name.equals("insecure") || name.equals("help")) {
                values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("--" + name + " needs a value\n" + USAGE);
            }
            values.computeIfAbsent(name, k -> new ArrayList<>()).add(args[++i]);
        }
        if (values.containsKey("help")) {
            throw new IllegalArgumentException(USAGE);
        }
        if (values.containsKey("config")) {
            Path file = Path.of(values.get("config").get(0));
            Properties props = new Properties();
            try (var reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                props.load(reader);
            } catch (IOException e) {
                throw new IllegalArgumentException("--config " + file + ": " + e.getMessage());
            }
            for (String key : props.stringPropertyNames()) {
                values.putIfAbsent(key, List.of(props.getProperty(key).trim()));
            }
        }
        List<String> controllers = List.of(required(values, "controller").split(",", -1));
        for (String controller : controllers) {
            if (!controller.matches("[^:,\\s]+:[0-9]{1,5}")) {
                throw new IllegalArgumentException("--controller must be HOST:PORT (several separated by commas), but had '"
                        + controller + "'");
            }
        }
        String token = null;
        Path tokenFile = path(values, "token-file");
        if (tokenFile != null) {
            try {
                token = Files.readString(tokenFile, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                throw new IllegalArgumentException("--token-file " + tokenFile + " cannot be read: " + e.getMessage());
            }
        }
        Path enrollTokenFile = path(values, "enroll-token-file");
        boolean insecure = values.containsKey("insecure") && Boolean.parseBoolean(values.get("insecure").get(0));
        Path ca = path(values, "ca");
        Path cert = path(values, "cert");
        Path key = path(values, "key");
        if (!insecure && ca == null) {
            throw new IllegalArgumentException("TLS is on by default and needs --ca (the CA that signed the controller's "
                    + "certificate); for plaintext on a trusted network pass --insecure explicitly");
        }
        if ((cert == null) != (key == null)) {
            throw new IllegalArgumentException("--cert and --key go together (mutual TLS)");
        }
        if (cert == null && enrollTokenFile == null && token == null) {
            throw new IllegalArgumentException("the agent needs a credential: --cert and --key, --enroll-token-file (first start "
                    + "of a new node), or --token-file (demo mode)\n" + USAGE);
        }
        if (enrollTokenFile != null && (insecure || ca == null)) {
            throw new IllegalArgumentException("--enroll-token-file needs TLS with --ca: the enrollment token must not cross in clear text");
        }
        Map<String, String> labels = new LinkedHashMap<>();
        for (String label : values.getOrDefault("label", List.of())) {
            int eq = label.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--label must be KEY=VALUE, but was '" + label + "'");
            }
            labels.put(label.substring(0, eq), label.substring(eq + 1));
        }
        long cacheMib;
        try {
            cacheMib = Long.parseLong(first(values, "cache-max-mib", "10240"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--cache-max-mib must be a number, but was '" + values.get("cache-max-mib").get(0) + "'");
        }
        int keepAlive;
        try {
            keepAlive = Integer.parseInt(first(values, "keepalive-seconds", "30"));
        } catch (NumberFormatException e) {
            keepAlive = 0;
        }
        if (keepAlive < 1) {
            throw new IllegalArgumentException("--keepalive-seconds must be a number >= 1, but was '"
                    + first(values, "keepalive-seconds", "") + "'");
        }
        return new AgentConfig(controllers, token, enrollTokenFile, Path.of(first(values, "state-dir", "/var/lib/deploykit-agent")), ca, cert, key,
                insecure, labels, first(values, "id", null), first(values, "root", "/"), cacheMib * 1024 * 1024, keepAlive);
    }

    private static String required(Map<String, List<String>> values, String name) {
        String v = first(values, name, null);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("--" + name + " is required\n" + USAGE);
        }
        return v;
    }

    private static String first(Map<String, List<String>> values, String name, String fallback) {
        List<String> v = values.get(name);
        return v == null || v.isEmpty() ? fallback : v.get(0);
    }

    private static Path path(Map<String, List<String>> values, String name) {
        String v = first(values, name, null);
        if (v == null) {
            return null;
        }
        Path p = Path.of(v);
        if (!Files.isReadable(p)) {
            throw new IllegalArgumentException("--" + name + " " + p + " cannot be read");
        }
        return p;
    }
}
