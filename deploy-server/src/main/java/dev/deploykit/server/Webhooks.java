package dev.deploykit.server;

import dev.deploykit.DeployEvent;
import dev.deploykit.spi.support.DaemonThreads;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts deployment events to the configured webhooks: of every deployment on the store (the
 * {@link DeploymentFeed}, whichever server process runs it), each event a webhook wants is claimed once in
 * {@link ApiRecords} (so several server processes deliver it once) and posted as JSON, signed with
 * HMAC-SHA256 of the body under the webhook's secret ({@code X-DeployKit-Signature: sha256=<hex>}).
 * A failed post (no answer, or not 2xx) is retried with a doubling wait, up to the webhook's
 * attempts; each attempt's outcome is in the delivery log.
 */
final class Webhooks implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Webhooks.class);
    static final Duration FIRST_RETRY = Duration.ofSeconds(1);

    /**
     * A webhook as the config has it.
     *
     * @param events   the event kinds to post (e.g. {@code DeploymentStatusChanged}); default that one and {@code BatchFinished}
     * @param attempts how many times a delivery is tried before it is given up (default 5)
     */
    record Config(String name, URI url, Path secretFile, List<String> events, Integer attempts) {}

    private record Hook(String name, URI url, byte[] secret, Set<String> events, int attempts) {}

    private final List<Hook> hooks;
    private final ApiRecords records;
    private final String serverId;
    private final Clock clock;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2, DaemonThreads.factory("deploykit-webhooks"));

    Webhooks(List<Config> configs, DeploymentFeed feed, ApiRecords records, String serverId, Clock clock) {
        this.hooks = configs.stream().map(Webhooks::hook).toList();
        this.records = records;
        this.serverId = serverId;
        this.clock = clock;
        if (!hooks.isEmpty()) {
            feed.listen(this::offer);
        }
    }

    private static Hook hook(Config c) {
        if (c.name() == null || c.url() == null || c.secretFile() == null) {
            throw new ServerConfig.ConfigException("webhooks: each needs name, url and secretFile");
        }
        if (!"https".equals(c.url().getScheme()) && !"http".equals(c.url().getScheme())) {
            throw new ServerConfig.ConfigException("webhooks." + c.name() + ".url: must be http or https, but was " + c.url());
        }
        byte[] secret;
        try {
            secret = Files.readString(c.secretFile(), StandardCharsets.UTF_8).strip().getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ServerConfig.ConfigException("webhooks." + c.name() + ".secretFile: cannot read " + c.secretFile());
        }
        if (secret.length < 16) {
            throw new ServerConfig.ConfigException("webhooks." + c.name() + ".secretFile: the secret must be at least 16 characters");
        }
        return new Hook(c.name(), c.url(), secret, Set.copyOf(c.events() == null ? List.of("DeploymentStatusChanged", "BatchFinished")
                : c.events()), c.attempts() == null ? 5 : c.attempts());
    }

    private void offer(DeployEvent event) {
        String type = Json.eventType(event);
        for (Hook h : hooks) {
            if (h.events().contains(type) && records.claimDelivery(h.name(), event.deploymentId(), event.seq(), type, serverId,
                    clock.instant())) {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("webhook", h.name());
                body.put("event", Json.event(event));
                String json = Json.write(body);
                timer.execute(() -> attempt(h, event, json, 1)); // never on the feed's thread: a slow receiver holds up nothing else
            }
        }
    }

    private void attempt(Hook h, DeployEvent event, String body, int attempt) {
        int status = 0;
        String error = "";
        try {
            HttpRequest request = HttpRequest.newBuilder(h.url()).timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json")
                    .header("X-DeployKit-Event", Json.eventType(event))
                    .header("X-DeployKit-Delivery", event.deploymentId() + "/" + event.seq())
                    .header("X-DeployKit-Signature", "sha256=" + sign(h.secret(), body))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            error = e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        boolean delivered = status >= 200 && status < 300;
        if (!delivered && error.isEmpty()) {
            error = "HTTP " + status;
        }
        records.recordAttempt(h.name(), event.deploymentId(), event.seq(), attempt, status, error, delivered, clock.instant());
        if (!delivered && attempt < h.attempts()) {
            long wait = FIRST_RETRY.toMillis() << (attempt - 1);
            log.info("webhook {}: {} {} failed ({}), try {} in {} ms", h.name(), event.deploymentId(), event.seq(), error, attempt + 1, wait);
            timer.schedule(() -> attempt(h, event, body, attempt + 1), wait, TimeUnit.MILLISECONDS);
        } else if (!delivered) {
            log.warn("webhook {}: gave up on {} {} after {} attempts: {}", h.name(), event.deploymentId(), event.seq(), attempt, error);
        }
    }

    /** Hex HMAC-SHA256 of {@code body} under {@code secret}: what a receiver recomputes to check the signature. */
    static String sign(byte[] secret, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
