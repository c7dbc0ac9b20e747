package dev.deploykit.server;

import dev.deploykit.DeployKit;
import dev.deploykit.spi.Store;
import dev.deploykit.store.postgres.PostgresStore;
import dev.deploykit.transport.grpc.AgentCa;
import dev.deploykit.transport.grpc.AgentGateway;
import dev.deploykit.transport.ssh.SshTransport;
import io.javalin.Javalin;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Clock;
import java.util.List;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running DeployKit server: the store (PostgreSQL, or memory for a demo), the agent gateway, the
 * SSH transport when configured, the DeployKit on them, and the REST API on Javalin. {@link #close}
 * stops taking requests, then closes the DeployKit (releasing what it owns) and the gateway.
 */
public final class DeployServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DeployServer.class);

    private final AgentGateway gateway;
    private final DeployKit kit;
    private final Javalin http;
    private final DeploymentFeed feed;
    private final Webhooks webhooks;

    private DeployServer(AgentGateway gateway, DeployKit kit, Javalin http, DeploymentFeed feed, Webhooks webhooks) {
        this.gateway = gateway;
        this.kit = kit;
        this.http = http;
        this.feed = feed;
        this.webhooks = webhooks;
    }

    /** Starts a server from the config file {@code file} and the environment. */
    public static DeployServer start(Path file) {
        return start(ServerConfig.load(file, System.getenv()));
    }

    static DeployServer start(ServerConfig config) {
        return start(config, List.of());
    }

    /** With {@code transports} beside the configured ones (tests use a simulated one for a thousand nodes). */
    static DeployServer start(ServerConfig config, List<dev.deploykit.spi.Transport> transports) {
        ApiTokens tokens = ApiTokens.load(config.tokensFile());
        Store store;
        ApiRecords records;
        if (config.store().postgres() != null) {
            ServerConfig.Postgres pg = config.store().postgres();
            PostgresStore.Builder b = PostgresStore.builder(pg.url());
            if (pg.user() != null) {
                b.user(pg.user());
            }
            if (pg.passwordFile() != null) {
                b.password(read(pg.passwordFile()));
            }
            if (pg.schema() != null) {
                b.schema(pg.schema());
            }
            if (config.controllerId() != null) {
                b.controllerId(config.controllerId());
            }
            PostgresStore pgStore = b.build();
            store = pgStore;
            records = new PostgresApiRecords(pgStore.dataSource(), pg.schema());
        } else {
            log.warn("IN-MEMORY STORE: every server, deployment and audit entry is lost when this process stops; "
                    + "for a demo only (set store.postgres for real use)");
            store = null;
            records = new MemoryApiRecords();
        }

        ServerConfig.Agents a = config.agents();
        AgentGateway.Builder g = AgentGateway.builder().host(a.host() == null ? "0.0.0.0" : a.host())
                .port(a.port() == null ? 7443 : a.port()).tokenFile(a.tokenFile());
        if (Boolean.TRUE.equals(a.insecurePlaintext())) {
            log.warn("AGENT GATEWAY WITHOUT TLS: enrollment tokens and commands travel in clear text (demo only)");
            g.insecurePlaintext();
        } else {
            g.tls(a.tlsCert(), a.tlsKey());
            if (a.clientCa() != null) {
                g.clientCa(a.clientCa());
            }
        }
        if (a.maxNewAgentsPerMinute() != null) {
            g.maxNewAgentsPerMinute(a.maxNewAgentsPerMinute());
        }
        if (Boolean.TRUE.equals(a.trustSelfNamedAgents())) {
            g.trustSelfNamedAgents();
        }
        if (config.controllerId() != null) {
            g.controllerId(config.controllerId());
        }
        AgentGateway gateway = g.build();

        DeployKit.Builder kb = DeployKit.builder().transport(gateway.transport()).artifactDir(config.artifactDir());
        if (store != null) {
            kb.store(store);
        }
        if (config.ssh() != null) {
            SshTransport.Builder ssh = SshTransport.builder();
            if (config.ssh().knownHosts() != null) {
                ssh.knownHosts(config.ssh().knownHosts());
            }
            if (config.ssh().identity() != null) {
                ssh.identity(config.ssh().identity());
            }
            kb.transport(ssh.build());
        }
        transports.forEach(kb::transport);
        DeployKit kit = kb.build();
        try {
            gateway.start(kit.servers());
            ServerConfig.Api api = config.api();
            RestApi rest = new RestApi(kit, records, api.maxUploadBytes() == null ? 4L << 30 : api.maxUploadBytes(), Clock.systemUTC());
            ServerMetrics metrics = new ServerMetrics(kit, gateway, Clock.systemUTC());
            DeploymentFeed feed = new DeploymentFeed(kit);
            feed.listen(metrics::event);
            Webhooks webhooks = new Webhooks(config.webhooks(), feed, records, config.controllerId() == null ? "server" : config.controllerId(),
                    Clock.systemUTC());
            String host = api.host() == null ? "0.0.0.0" : api.host();
            int port = api.port() == null ? 8443 : api.port();
            Javalin http = Javalin.create(c -> {
                c.startup.showJavalinBanner = false;
                if (Boolean.TRUE.equals(api.insecurePlaintext())) {
                    log.warn("REST API WITHOUT TLS on {}:{}: tokens travel in clear text (loopback demo only)", host, port);
                    c.jetty.host = host;
                    c.jetty.port = port;
                } else {
                    SslContextFactory.Server tls = new SslContextFactory.Server();
                    tls.setKeyStore(keyStore(api.tlsCert(), api.tlsKey()));
                    tls.setKeyStorePassword("");
                    c.jetty.addConnector((server, httpConfig) -> {
                        ServerConnector connector = new ServerConnector(server, new SslConnectionFactory(tls, "http/1.1"),
                                new HttpConnectionFactory(httpConfig));
                        connector.setHost(host);
                        connector.setPort(port);
                        return connector;
                    });
                    c.jetty.port = -1; // no plaintext connector
                }
                c.routes.get("/health", ctx -> ctx.contentType("application/json").result("{\"status\":\"up\"}"));
                c.routes.get("/ready", ctx -> ctx.status(200).result("ready"));
                c.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4").result(metrics.scrape()));
                c.routes.before(ctx -> ctx.attribute("started", System.nanoTime()));
                c.routes.after(RestApi.PREFIX + "/*", ctx -> metrics.request(ctx, ctx.<Long>attribute("started")));
                Console console = new Console(tokens, new ConsoleSessions(Clock.systemUTC()), records,
                        !Boolean.TRUE.equals(api.insecurePlaintext()));
                console.install(c);
                rest.install(c, tokens, console);
            }).start();
            log.info("DeployKit server: REST API on {}:{}, agent gateway on port {}", host, http.port(), gateway.port());
            return new DeployServer(gateway, kit, http, feed, webhooks);
        } catch (RuntimeException e) {
            kit.close();
            gateway.close();
            throw e;
        }
    }

    public int apiPort() {
        return http.port();
    }

    public int agentPort() {
        return gateway.port();
    }

    public DeployKit kit() {
        return kit;
    }

    @Override
    public void close() {
        http.stop();
        feed.close();
        webhooks.close();
        kit.close();
        gateway.close();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** A key store in memory with the PEM certificate chain and key (PKCS#8 or a traditional EC/RSA key). */
    private static KeyStore keyStore(Path certPem, Path keyPem) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            List<Certificate> chain = List.copyOf(java.security.cert.CertificateFactory.getInstance("X.509")
                    .generateCertificates(Files.newInputStream(certPem)));
            ks.setKeyEntry("api", AgentCa.privateKey(read(keyPem)), new char[0], chain.toArray(Certificate[]::new));
            return ks;
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new ServerConfig.ConfigException("cannot read the API's TLS certificate " + certPem + " and key " + keyPem + ": "
                    + e.getMessage());
        }
    }
}
