package dev.deploykit.agent;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

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
 * @param relay         {@code --relay HOST:PORT}: serve artifacts to peers there (mutual TLS), told to
 *                      other agents as this relay's address; null: not a relay
 * @param relayMibPerSecond     {@code --relay-mib-per-s}: what the relay sends to all peers together, at most; 0: no cap
 * @param relayPeerMibPerSecond {@code --relay-peer-mib-per-s}: what it sends to one peer, at most; 0: no cap
 * @param inventoryCheckMillis how often the agent compares its package database's size and time with the last
 *                      ones, to report its packages when they changed ({@code --inventory-check-millis}, default 3000)
 */
record AgentConfig(List<String> controllers, String token, Path enrollTokenFile, Path stateDir, Path caFile, Path certFile,
        Path keyFile, boolean insecure, Map<String, String> labels, String agentId, String installRoot, long cacheMaxBytes,
        int keepAliveSeconds, long inventoryCheckMillis, String relay, long relayMibPerSecond, long relayPeerMibPerSecond) {

    /** The same settings with this agent's own certificate and key (after enrollment). */
    AgentConfig withCertificate(Path cert, Path key) {
        return new AgentConfig(controllers, token, enrollTokenFile, stateDir, caFile, cert, key, insecure, labels, agentId,
                installRoot, cacheMaxBytes, keepAliveSeconds, inventoryCheckMillis, relay, relayMibPerSecond, relayPeerMibPerSecond);
    }

    /** What {@link #parse} found instead of settings: help or version text for stdout, and the exit code. */
    static final class Done extends RuntimeException {
        final int exitCode;

        Done(String text, int exitCode) {
            super(text);
            this.exitCode = exitCode;
        }
    }

    /**
     * Reads the settings from, in this order of precedence: the command line, environment variables
     * ({@code DEPLOYKIT_AGENT_STATE_DIR} for {@code --state-dir}, and so on), the {@code --config}
     * file ({@code key=value} lines with the flag names without dashes; {@code label} may repeat), then
     * the defaults. An unknown flag or config key is an error naming it. {@code --help} and
     * {@code --version} end in {@link Done}.
     */
    static AgentConfig parse(String[] args) {
        return AgentOptions.parse(args, System.getenv()).toConfig();
    }

    /** As {@link #parse(String[])} with an explicit environment (tests). */
    static AgentConfig parse(String[] args, Map<String, String> env) {
        return AgentOptions.parse(args, env).toConfig();
    }
}
