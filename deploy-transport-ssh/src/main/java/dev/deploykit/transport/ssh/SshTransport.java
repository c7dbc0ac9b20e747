package dev.deploykit.transport.ssh;

import dev.deploykit.Server;
import dev.deploykit.TransportException;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.Transport;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.auth.pubkey.UserAuthPublicKeyFactory;
import org.apache.sshd.client.config.hosts.HostConfigEntry;
import org.apache.sshd.client.config.hosts.HostConfigEntryResolver;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.NamedFactory;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.cipher.BuiltinCiphers;
import org.apache.sshd.common.cipher.Cipher;
import org.apache.sshd.common.config.keys.FilePasswordProvider;
import org.apache.sshd.common.keyprovider.KeyIdentityProvider;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.apache.sshd.core.CoreModuleProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Agentless transport: reaches servers bound with {@link dev.deploykit.Binding#ssh} over SSH, with
 * Apache MINA SSHD's client. Safer defaults than a plain SSH client:
 *
 * <ul>
 *   <li>host keys are checked strictly against an OpenSSH {@code known_hosts} file; trust on first
 *       use only when {@link Builder#trustOnFirstUse} is set (and then the key is recorded); a changed
 *       key is refused with both fingerprints;</li>
 *   <li>public key authentication only, from OpenSSH key files (ed25519, ECDSA, RSA; passphrases
 *       from a callback);</li>
 *   <li>commands are argv lists, quoted word by word for the remote shell; timeouts and cancels kill
 *       the remote process group;</li>
 *   <li>artifacts go through one exec channel each (prepare, stream into {@code cat}, verify size
 *       and SHA-256 with the fastest tool the node has, move into place) into a content-addressed
 *       cache on the node; a partial upload resumes from its offset, an intact copy is not sent
 *       again. No SFTP: one remote shell per artifact instead of three (docs/ssh.md).</li>
 * </ul>
 *
 * <p>Binding attributes: {@code host}, {@code port}, {@code user} (required); {@code sudo=true} to
 * run commands through {@code sudo -n}; {@code jump=user@bastion:22[,...]} for ProxyJump;
 * {@code root=/path} for an install root other than {@code /}.
 *
 * <p>One SSH connection per node is kept and reused (with keepalive) until {@link #close()}.
 * Connects are retried with exponential backoff for network errors, a per-host circuit breaker
 * fails fast for a host that keeps refusing, and a bulkhead bounds concurrent channels. Thread-safe.
 *
 * <pre>{@code
 * SshTransport ssh = SshTransport.builder()
 *         .knownHosts(Path.of("/etc/deploykit/known_hosts"))
 *         .identity(Path.of("/etc/deploykit/id_ed25519"))
 *         .build();
 * DeployKit kit = DeployKit.builder().transport(ssh).build();
 * kit.servers().register(Server.of("db-1", Binding.ssh("10.0.0.5", 22, "deploy"), Map.of("role", "db")));
 * }</pre>
 */
public final class SshTransport implements Transport {
    private static final Logger log = LoggerFactory.getLogger(SshTransport.class);

    private final Builder options;
    private final SshClient client;
    private final Map<String, ClientSession> sessions = new ConcurrentHashMap<>();
    private final Map<String, Object> connectLocks = new ConcurrentHashMap<>();
    private final Map<String, CircuitBreaker> breakers = new ConcurrentHashMap<>();
    private final Retry retry;
    private final HostKeyPolicy hostKeys;
    final Bulkhead bulkhead;

    private SshTransport(Builder b) {
        this.options = b;
        List<KeyPair> keys = loadKeys(b);
        client = SshClient.setUpDefaultClient();
        hostKeys = new HostKeyPolicy(b.knownHosts, b.trustOnFirstUse);
        client.setServerKeyVerifier(hostKeys);
        client.setHostConfigEntryResolver(HostConfigEntryResolver.EMPTY);
        client.setKeyIdentityProvider(KeyIdentityProvider.wrapKeyPairs(keys));
        if (b.agentSocket != null) {
            client.setAgentFactory(UnixSocketAgent.factory(b.agentSocket));
        }
        client.setPasswordIdentityProvider(session -> List.of());
        client.setUserAuthFactories(List.of(UserAuthPublicKeyFactory.INSTANCE));
        CoreModuleProperties.HEARTBEAT_INTERVAL.set(client, b.keepAlive);
        // AES-GCM first: the JDK runs it with AES-NI and CLMUL intrinsics, several times faster than
        // the CTR + HMAC pairs MINA would otherwise negotiate, and bulk uploads are cipher-bound.
        List<NamedFactory<Cipher>> ciphers = new ArrayList<>(List.of(BuiltinCiphers.aes128gcm, BuiltinCiphers.aes256gcm));
        client.getCipherFactories().stream().filter(c -> !ciphers.contains(c)).forEach(ciphers::add);
        client.setCipherFactories(ciphers);
        client.start();
        retry = Retry.of("ssh-connect", RetryConfig.custom()
                .maxAttempts(b.connectAttempts)
                .intervalFunction(IntervalFunction.ofExponentialRandomBackoff(b.connectBackoff, 2.0))
                .retryOnException(e -> e instanceof TransportException t && t.retryable())
                .build());
        bulkhead = Bulkhead.of("ssh-channels", BulkheadConfig.custom()
                .maxConcurrentCalls(b.maxConcurrentChannels)
                .maxWaitDuration(Duration.ofHours(1))
                .build());
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String scheme() {
        return "ssh";
    }

    /** SSH nodes report nothing on their own: the engine lists their packages every poll interval. */
    @Override
    public boolean polledForInventory() {
        return true;
    }

    Builder options() {
        return options;
    }

    @Override
    public NodeSession open(Server server) {
        var binding = server.binding();
        String host = binding.require("host");
        int port = Integer.parseInt(binding.attributes().getOrDefault("port", "22"));
        String user = binding.require("user");
        String jump = binding.attributes().get("jump");
        String key = user + "@" + host + ":" + port + (jump == null ? "" : " via " + jump);
        ClientSession session = session(server.id(), key, host, port, user, jump);
        String root = binding.attributes().getOrDefault("root", "/");
        String sudo = "true".equals(binding.attributes().get("sudo")) ? "root" : null;
        return new SshNodeSession(this, server.id(), session, root, sudo);
    }

    private ClientSession session(String serverId, String key, String host, int port, String user, String jump) {
        ClientSession existing = sessions.get(key);
        if (existing != null && existing.isOpen() && existing.isAuthenticated()) {
            return existing;
        }
        synchronized (connectLocks.computeIfAbsent(key, k -> new Object())) {
            existing = sessions.get(key);
            if (existing != null && existing.isOpen() && existing.isAuthenticated()) {
                return existing;
            }
            CircuitBreaker breaker = breakers.computeIfAbsent(host + ":" + port, hp -> CircuitBreaker.of("ssh " + hp,
                    CircuitBreakerConfig.custom()
                            .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                            .slidingWindowSize(options.breakerFailures)
                            .minimumNumberOfCalls(options.breakerFailures)
                            .failureRateThreshold(100)
                            .waitDurationInOpenState(options.breakerOpenFor)
                            .recordException(e -> e instanceof TransportException t && t.retryable())
                            .build()));
            try {
                ClientSession fresh = Retry.decorateSupplier(retry,
                        CircuitBreaker.decorateSupplier(breaker, () -> connect(serverId, key, host, port, user, jump))).get();
                sessions.put(key, fresh);
                return fresh;
            } catch (CallNotPermittedException e) {
                throw new TransportException(serverId, "not connecting to " + key + ": the last " + options.breakerFailures
                        + " attempts failed, next try after " + options.breakerOpenFor, e, true);
            }
        }
    }

    private ClientSession connect(String serverId, String key, String host, int port, String user, String jump) {
        HostConfigEntry entry = new HostConfigEntry("", host, port, user);
        if (jump != null) {
            entry.setProxyJump(jump);
        }
        ClientSession session;
        try {
            session = client.connect(entry, null, null).verify(options.connectTimeout).getSession();
        } catch (IOException e) {
            throw new TransportException(serverId, "cannot connect to " + key + ": " + e.getMessage(), e, true);
        }
        try {
            session.auth().verify(options.connectTimeout);
            log.debug("connected to {}", key);
            return session;
        } catch (IOException e) {
            String refusal = hostKeys.takeRefusal(session);
            session.close(true);
            if (refusal != null) {
                throw new TransportException(serverId, refusal, e, false);
            }
            boolean network = !session.isAuthenticated() && String.valueOf(e.getMessage()).contains("timeout");
            throw new TransportException(serverId, "cannot log in to " + key + " with public key: " + e.getMessage(), e, network);
        }
    }

    private static List<KeyPair> loadKeys(Builder b) {
        List<Path> files = new ArrayList<>(b.identities);
        // with an agent, the default key files are left to it (they are often passphrase-protected)
        if (files.isEmpty() && b.agentSocket == null) {
            Path ssh = Path.of(System.getProperty("user.home"), ".ssh");
            for (String name : List.of("id_ed25519", "id_ecdsa", "id_rsa")) {
                if (Files.isReadable(ssh.resolve(name))) {
                    files.add(ssh.resolve(name));
                }
            }
        }
        List<KeyPair> keys = new ArrayList<>();
        for (Path file : files) {
            FilePasswordProvider passwords = (session, resource, retry) -> b.passphrases == null ? null : b.passphrases.passphrase(file);
            try (InputStream in = Files.newInputStream(file)) {
                Iterable<KeyPair> loaded = SecurityUtils.loadKeyPairIdentities(null, NamedResource.ofName(file.toString()), in, passwords);
                if (loaded != null) {
                    loaded.forEach(keys::add);
                }
            } catch (IOException | GeneralSecurityException e) {
                throw new IllegalArgumentException("cannot load SSH key " + file + ": " + e.getMessage(), e);
            }
        }
        return keys;
    }

    /** Closes every connection and the client. */
    @Override
    public void close() {
        sessions.values().forEach(s -> s.close(true));
        sessions.clear();
        client.stop();
    }

    /** Supplies the passphrase of an encrypted key file. */
    @FunctionalInterface
    public interface PassphraseProvider {
        String passphrase(Path keyFile);
    }

    /** Options for {@link SshTransport}. Not thread-safe. */
    public static final class Builder {
        private Path knownHosts = Path.of(System.getProperty("user.home"), ".ssh", "known_hosts");
        private boolean trustOnFirstUse;
        private final List<Path> identities = new ArrayList<>();
        private Path agentSocket;
        private PassphraseProvider passphrases;
        private Duration connectTimeout = Duration.ofSeconds(15);
        private Duration keepAlive = Duration.ofSeconds(30);
        private int maxConcurrentChannels = 64;
        private int connectAttempts = 3;
        private Duration connectBackoff = Duration.ofMillis(500);
        private int breakerFailures = 3;
        private Duration breakerOpenFor = Duration.ofSeconds(30);
        private String remoteCacheDir = ".cache/deploykit";

        private Builder() {}

        /** The OpenSSH known_hosts file to check host keys against. Default: ~/.ssh/known_hosts. */
        public Builder knownHosts(Path file) {
            this.knownHosts = file;
            return this;
        }

        /**
         * Accept a host key that known_hosts does not have yet, and record it. Off by default: an
         * unknown key is refused. A changed key is refused either way.
         */
        public Builder trustOnFirstUse(boolean trust) {
            this.trustOnFirstUse = trust;
            return this;
        }

        /**
         * A private key file (OpenSSH or PEM). Default, when neither this nor {@link #sshAgent} is
         * given: ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist.
         */
        public Builder identity(Path keyFile) {
            identities.add(keyFile);
            return this;
        }

        /**
         * Also authenticate with the keys an ssh-agent holds, through its socket (usually
         * {@code $SSH_AUTH_SOCK}); the agent signs, the keys never enter this process. The agent is
         * not forwarded to nodes.
         */
        public Builder sshAgent(Path socket) {
            this.agentSocket = java.util.Objects.requireNonNull(socket, "socket");
            return this;
        }

        public Builder passphrases(PassphraseProvider provider) {
            this.passphrases = provider;
            return this;
        }

        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = timeout;
            return this;
        }

        public Builder keepAlive(Duration interval) {
            this.keepAlive = interval;
            return this;
        }

        /** Most channels (commands, uploads) open at once across all nodes. Default 64. */
        public Builder maxConcurrentChannels(int max) {
            if (max < 1) {
                throw new IllegalArgumentException("maxConcurrentChannels must be >= 1, but was " + max);
            }
            this.maxConcurrentChannels = max;
            return this;
        }

        /** Connect attempts for network errors, with exponential backoff from {@code backoff}. Default 3, 500 ms. */
        public Builder connectRetries(int attempts, Duration backoff) {
            if (attempts < 1) {
                throw new IllegalArgumentException("connect attempts must be >= 1, but was " + attempts);
            }
            this.connectAttempts = attempts;
            this.connectBackoff = backoff;
            return this;
        }

        /** After {@code failures} failed connects in a row a host is not tried for {@code openFor}. Default 3, 30 s. */
        public Builder circuitBreaker(int failures, Duration openFor) {
            if (failures < 1) {
                throw new IllegalArgumentException("circuit breaker failures must be >= 1, but was " + failures);
            }
            this.breakerFailures = failures;
            this.breakerOpenFor = openFor;
            return this;
        }

        /**
         * Where artifacts are cached on nodes; relative paths are under the login directory. Default
         * {@code .cache/deploykit}. A server with a {@code root} attribute uses
         * {@code <root>/var/cache/deploykit}.
         */
        public Builder remoteCacheDir(String dir) {
            this.remoteCacheDir = dir;
            return this;
        }

        String remoteCacheDir() {
            return remoteCacheDir;
        }

        Duration connectTimeout() {
            return connectTimeout;
        }

        public SshTransport build() {
            return new SshTransport(this);
        }
    }
}
