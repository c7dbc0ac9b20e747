package dev.deploykit.agent;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/**
 * The agent's command line, declared once with picocli: each option's flag, config file key
 * (the flag without dashes) and environment variable ({@code DEPLOYKIT_AGENT_} and the flag in upper
 * case with {@code _} for {@code -}) come from the same declaration, so none can be forgotten in one
 * of the three. Validation that spans options is in {@link #toConfig()}, with messages that name the
 * flag.
 */
@Command(name = "deploy-agent", mixinStandardHelpOptions = true, versionProvider = AgentOptions.Version.class, sortOptions = false,
        usageHelpAutoWidth = true,
        description = "The DeployKit agent: dials out to the controllers' agent gateways and runs the tasks they send.",
        footer = {"", "Every option can also be set in the --config file (key=value, the flag without dashes; label may repeat)",
                "or in the environment (DEPLOYKIT_AGENT_STATE_DIR for --state-dir, ...). The command line wins, then the",
                "environment, then the file."})
final class AgentOptions {
    static final String ENV_PREFIX = "DEPLOYKIT_AGENT_";

    @Option(names = "--controller", paramLabel = "HOST:PORT[,HOST:PORT...]", split = ",",
            description = "the controllers' agent gateways; with several, the agent moves to the next one whenever its connection drops")
    List<String> controllers = new ArrayList<>();

    @Option(names = "--ca", paramLabel = "FILE", description = "CA certificate that signed the controller's certificate (TLS)")
    Path ca;

    @Option(names = "--cert", paramLabel = "FILE", description = "this agent's certificate (mutual TLS); its id is the certificate's")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", description = "this agent's private key (PKCS#8 PEM)")
    Path key;

    @Option(names = "--enroll-token-file", paramLabel = "FILE",
            description = "first start without a certificate: enroll with this limited-use token; key and certificate are kept in the state dir")
    Path enrollTokenFile;

    @Option(names = "--token-file", paramLabel = "FILE", description = "the fleet token, when the controller asks for one (alone: demo mode)")
    Path tokenFile;

    @Option(names = "--insecure", description = "plaintext gRPC: demos and tests on loopback only")
    boolean insecure;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/deploykit-agent",
            description = "identity, task journal, artifact cache (default: ${DEFAULT-VALUE})")
    Path stateDir;

    @Option(names = "--label", paramLabel = "KEY=VALUE", split = ",", description = "a server label, repeatable")
    List<String> labels = new ArrayList<>();

    @Option(names = "--relay", paramLabel = "HOST:PORT",
            description = "also serve artifacts to peer agents the controller names, on this address (mutual TLS; a port to protect: docs/security.md)")
    String relay;

    @Option(names = "--relay-mib-per-s", paramLabel = "MIB", defaultValue = "0",
            description = "a relay sends at most this many MiB/s to all peers together (default: no cap)")
    long relayMibPerSecond;

    @Option(names = "--relay-peer-mib-per-s", paramLabel = "MIB", defaultValue = "0",
            description = "a relay sends at most this many MiB/s to one peer (default: no cap)")
    long relayPeerMibPerSecond;

    @Option(names = "--id", paramLabel = "ID", description = "agent id (default: generated once, kept in the state dir)")
    String id;

    @Option(names = "--root", paramLabel = "DIR", defaultValue = "/", description = "install root other than / (simulated nodes)")
    String root;

    @Option(names = "--cache-max-mib", paramLabel = "N", defaultValue = "10240", description = "artifact cache size cap (default: ${DEFAULT-VALUE})")
    long cacheMaxMib;

    @Option(names = "--keepalive-seconds", paramLabel = "N", defaultValue = "30",
            description = "ping a quiet connection every N s, drop it after N s without an answer (default: ${DEFAULT-VALUE}; the gateway must permit it)")
    int keepAliveSeconds;

    @Option(names = "--inventory-check-millis", paramLabel = "N", defaultValue = "3000",
            description = "look at the package database's size and time every N ms, and report the packages when it changed (default: ${DEFAULT-VALUE})")
    long inventoryCheckMillis;

    @Option(names = "--config", paramLabel = "FILE", description = "key=value file with the same names, without dashes")
    Path config;

    /** The agent's version, for {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"deploy-agent " + Agent.VERSION, "Java " + System.getProperty("java.version")};
        }
    }

    /** Parses {@code args} with {@code env} and the {@code --config} file as defaults; see {@link AgentConfig#parse(String[])}. */
    static AgentOptions parse(String[] args, Map<String, String> env) {
        AgentOptions options = new AgentOptions();
        CommandLine cli = new CommandLine(options).setCaseInsensitiveEnumValuesAllowed(true);
        Map<String, List<String>> file = configFile(args, env, cli);
        cli.setDefaultValueProvider(arg -> defaultFor(arg, env, file));
        try {
            cli.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException(e.getMessage() + "\n" + usage(cli));
        }
        if (cli.isUsageHelpRequested()) {
            throw new AgentConfig.Done(usage(cli), 0);
        }
        if (cli.isVersionHelpRequested()) {
            StringWriter out = new StringWriter();
            cli.printVersionHelp(new PrintWriter(out));
            throw new AgentConfig.Done(out.toString(), 0);
        }
        return options;
    }

    private static String usage(CommandLine cli) {
        StringWriter out = new StringWriter();
        cli.usage(new PrintWriter(out));
        return out.toString();
    }

    /** The environment variable for option {@code --some-flag}: {@code DEPLOYKIT_AGENT_SOME_FLAG}. */
    static String envName(String flag) {
        return ENV_PREFIX + flag.replaceFirst("^--", "").replace('-', '_').toUpperCase(Locale.ROOT);
    }

    private static String defaultFor(ArgSpec arg, Map<String, String> env, Map<String, List<String>> file) {
        if (!(arg instanceof OptionSpec option) || option.usageHelp() || option.versionHelp()) {
            return null;
        }
        String flag = option.longestName();
        String fromEnv = env.get(envName(flag));
        if (fromEnv != null) {
            return fromEnv;
        }
        List<String> fromFile = file.get(flag.substring(2));
        if (fromFile != null) {
            return String.join(",", fromFile);
        }
        return option.defaultValue();
    }

    /** The {@code --config} file (flag or environment), key to values in file order; an unknown key is an error. */
    private static Map<String, List<String>> configFile(String[] args, Map<String, String> env, CommandLine cli) {
        String path = env.get(envName("--config"));
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                path = args[i + 1];
            } else if (args[i].startsWith("--config=")) {
                path = args[i].substring("--config=".length());
            }
        }
        Map<String, List<String>> values = new LinkedHashMap<>();
        if (path == null) {
            return values;
        }
        Set<String> known = new TreeSet<>();
        cli.getCommandSpec().options().stream().filter(o -> !o.usageHelp() && !o.versionHelp() && !o.longestName().equals("--config"))
                .forEach(o -> known.add(o.longestName().substring(2)));
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of(path), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("--config " + path + " cannot be read: " + e.getMessage());
        }
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).trim();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int eq = line.indexOf('=');
            String k = eq < 0 ? line : line.substring(0, eq).trim();
            if (eq < 0 || !known.contains(k)) {
                throw new IllegalArgumentException(path + ":" + (n + 1) + ": " + (eq < 0 ? "expected key=value, but was '" + line + "'"
                        : "unknown key '" + k + "'; known keys: " + String.join(", ", known)));
            }
            values.computeIfAbsent(k, x -> new ArrayList<>()).add(line.substring(eq + 1).trim());
        }
        return values;
    }

    /** The settings, with the checks that span options; messages name the flag. */
    AgentConfig toConfig() {
        if (controllers.isEmpty()) {
            throw new IllegalArgumentException("--controller is required (or " + envName("--controller") + ", or controller= in --config)");
        }
        for (String controller : controllers) {
            if (!controller.matches("[^:,\\s]+:[0-9]{1,5}")) {
                throw new IllegalArgumentException("--controller must be HOST:PORT (several separated by commas), but had '"
                        + controller + "'");
            }
        }
        String token = null;
        if (tokenFile != null) {
            try {
                token = Files.readString(readable("--token-file", tokenFile), StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                throw new IllegalArgumentException("--token-file " + tokenFile + " cannot be read: " + e.getMessage());
            }
        }
        readable("--ca", ca);
        readable("--cert", cert);
        readable("--key", key);
        readable("--enroll-token-file", enrollTokenFile);
        if (!insecure && ca == null) {
            throw new IllegalArgumentException("TLS is on by default and needs --ca (the CA that signed the controller's "
                    + "certificate); for plaintext on a trusted network pass --insecure explicitly");
        }
        if ((cert == null) != (key == null)) {
            throw new IllegalArgumentException("--cert and --key go together (mutual TLS)");
        }
        if (cert == null && enrollTokenFile == null && token == null) {
            throw new IllegalArgumentException("the agent needs a credential: --cert and --key, --enroll-token-file (first start "
                    + "of a new node), or --token-file (demo mode)");
        }
        if (enrollTokenFile != null && (insecure || ca == null)) {
            throw new IllegalArgumentException("--enroll-token-file needs TLS with --ca: the enrollment token must not cross in clear text");
        }
        Map<String, String> labelMap = new LinkedHashMap<>();
        for (String label : labels) {
            int eq = label.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--label must be KEY=VALUE, but was '" + label + "'");
            }
            labelMap.put(label.substring(0, eq), label.substring(eq + 1));
        }
        if (cacheMaxMib < 1) {
            throw new IllegalArgumentException("--cache-max-mib must be >= 1, but was " + cacheMaxMib);
        }
        if (keepAliveSeconds < 1) {
            throw new IllegalArgumentException("--keepalive-seconds must be a number >= 1, but was '" + keepAliveSeconds + "'");
        }
        if (inventoryCheckMillis < 50) {
            throw new IllegalArgumentException("--inventory-check-millis must be >= 50, but was " + inventoryCheckMillis);
        }
        if (relay != null && !relay.matches("[^\\s:]+:\\d{1,5}")) {
            throw new IllegalArgumentException("--relay must be HOST:PORT (an address other agents can reach), but was '" + relay + "'");
        }
        if (relayMibPerSecond < 0 || relayPeerMibPerSecond < 0) {
            throw new IllegalArgumentException("--relay-mib-per-s and --relay-peer-mib-per-s must be >= 0 (0: no cap)");
        }
        if (relay != null && insecure) {
            throw new IllegalArgumentException("--relay needs mutual TLS, not --insecure");
        }
        return new AgentConfig(List.copyOf(controllers), token, enrollTokenFile, stateDir, ca, cert, key, insecure, labelMap, id, root,
                cacheMaxMib * 1024 * 1024, keepAliveSeconds, inventoryCheckMillis, relay, relayMibPerSecond, relayPeerMibPerSecond);
    }

    private static Path readable(String flag, Path p) {
        if (p != null && !Files.isReadable(p)) {
            throw new IllegalArgumentException(flag + " " + p + " cannot be read");
        }
        return p;
    }
}
