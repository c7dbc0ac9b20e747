package dev.deploykit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeploymentStatus;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.UUID;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;

/**
 * A client of one deploy-server's REST API ({@code docs/server.md}) on {@code java.net.http}. Every
 * request carries the token; every write carries a fresh {@code Idempotency-Key} and is sent again
 * with the same key when the connection fails, so a retried write is done once (the server replays
 * the first answer, or says 409 while the first try still runs, and then the retry waits). Errors become a
 * {@link CliException}: the server's problem detail with the exit code for its HTTP status, or
 * {@link ExitCode#UNAVAILABLE} when the server cannot be reached. Thread-safe.
 */
final class ServerApi {
    static final String PREFIX = "/api/v1";
    private static final int WRITE_ATTEMPTS = 3;
    /** Reconnects of the event stream in a row before giving up: about a minute with the backoff below. */
    private static final int STREAM_RECONNECTS = 12;
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(8);

    private final HttpClient http;
    private final String base;
    private final String token;

    private ServerApi(HttpClient http, String base, String token) {
        this.http = http;
        this.base = base;
        this.token = token;
    }

    /**
     * A client of the server at {@code url} ({@code https://deploy.internal:8443}), with the token in
     * {@code tokenFile}, trusting {@code ca} (a PEM certificate) besides the JDK's CAs when given.
     * Plain {@code http} to a host other than loopback draws a warning on {@code err}: the token
     * would cross the network readable.
     */
    static ServerApi connect(String url, Path tokenFile, Path ca, PrintStream err) {
        URI uri;
        try {
            uri = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCode.BAD_INPUT, "--server: not a URL: " + url);
        }
        if (!"https".equals(uri.getScheme()) && !"http".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new CliException(ExitCode.BAD_INPUT, "--server: an http(s) URL such as https://deploy.internal:8443, but was " + url);
        }
        if ("http".equals(uri.getScheme()) && !loopback(uri.getHost())) {
            err.println("deploykit: warning: " + url + " is plain HTTP: the API token crosses the network unencrypted");
        }
        HttpClient.Builder http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10));
        if (ca != null) {
            http.sslContext(trusting(ca));
        }
        String path = uri.toString().endsWith(PREFIX) ? uri.toString() : uri + PREFIX;
        return new ServerApi(http.build(), path, readToken(tokenFile));
    }

    private static boolean loopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (IOException e) {
            return false;
        }
    }

    private static String readToken(Path file) {
        try {
            String token = Files.readString(file).trim();
            if (token.isEmpty() || token.contains("\n")) {
                throw new CliException(ExitCode.BAD_INPUT, "--token-file " + file + ": must hold the API token, one line");
            }
            return token;
        } catch (IOException e) {
            throw new CliException(ExitCode.BAD_INPUT, "--token-file: cannot read " + file + ": " + e.getMessage());
        }
    }

    private static SSLContext trusting(Path ca) {
        try (InputStream in = Files.newInputStream(ca)) {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            int i = 0;
            for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trust.setCertificateEntry("ca-" + i++, cert);
            }
            if (i == 0) {
                throw new CliException(ExitCode.BAD_INPUT, "--ca " + ca + ": no PEM certificate in it");
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(null, tmf.getTrustManagers(), null);
            return tls;
        } catch (IOException | GeneralSecurityException e) {
            throw new CliException(ExitCode.BAD_INPUT, "--ca: cannot read a certificate from " + ca + ": " + e.getMessage());
        }
    }

    /** {@code name} as one path segment. */
    static String segment(String name) {
        return URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(60));
    }

    JsonNode get(String path) {
        return send(request(path).GET().build(), false);
    }

    /** A write: {@code body} with {@code contentType}, under a fresh Idempotency-Key. */
    JsonNode post(String path, HttpRequest.BodyPublisher body, String contentType) {
        HttpRequest r = request(path).header("Content-Type", contentType).header("Idempotency-Key", "deploykit-" + UUID.randomUUID())
                .POST(body).timeout(Duration.ofMinutes(30)).build();
        return send(r, true);
    }

    private JsonNode send(HttpRequest request, boolean write) {
        for (int attempt = 1; ; attempt++) {
            try {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 409 && write && attempt > 1 && attempt < WRITE_ATTEMPTS) {
                    // the first try under this key reached the server and is still running there
                    pause(Duration.ofSeconds(2));
                    continue;
                }
                if (response.statusCode() >= 400) {
                    throw problem(response.statusCode(), response.body());
                }
                return Json.read(response.body(), "the answer to " + request.method() + " " + request.uri().getPath());
            } catch (IOException e) {
                // A write is sent again under its key: the server does it once and replays the answer.
                if (!write || attempt >= WRITE_ATTEMPTS || e instanceof SSLHandshakeException) {
                    throw unreachable(e);
                }
                pause(Duration.ofMillis(500L * attempt));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException(ExitCode.UNAVAILABLE, "interrupted");
            }
        }
    }

    /** The error for a problem document (RFC 9457): its detail, and the field when the detail does not name it. */
    static CliException problem(int status, String body) {
        String detail = "the server answered " + status;
        String field = null;
        try {
            JsonNode p = Json.MAPPER.readTree(body);
            if (p != null && p.hasNonNull("detail")) {
                detail = p.get("detail").asText();
                field = p.hasNonNull("field") ? p.get("field").asText() : null;
            }
        } catch (IOException notJson) {
            // keep the status alone
        }
        return new CliException(ExitCode.ofHttpStatus(status), field == null || detail.contains(field) ? detail
                : detail + " (field " + field + ")");
    }

    private CliException unreachable(IOException e) {
        return new CliException(ExitCode.UNAVAILABLE, "cannot reach " + base + ": " + describe(e), e);
    }

    /** Why a request failed, in words: the first message in the cause chain (a ConnectException has none of its own). */
    private static String describe(IOException e) {
        Throwable t = e;
        while (t.getMessage() == null && t.getCause() != null) {
            t = t.getCause();
        }
        String why = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return why + (e instanceof SSLHandshakeException ? " (does --ca name the CA of the server's certificate?)" : "");
    }

    /**
     * Follows the deployment's Server-Sent Events until its {@code end} event, giving each event to
     * {@code each} once and in order, and returns the status it ended with. A dropped connection is
     * made again with {@code Last-Event-ID}, so no event is missed or repeated; after
     * {@value #STREAM_RECONNECTS} reconnects in a row that bring no event it gives up.
     */
    DeploymentStatus watch(String id, Consumer<DeployEvent> each) {
        EventStream stream = new EventStream(each);
        String path = "/deployments/" + segment(id) + "/events/stream";
        for (int failures = 0; ; ) {
            HttpRequest.Builder b = request(path).header("Accept", "text/event-stream").timeout(Duration.ofSeconds(30));
            if (stream.last > 0) {
                b.header("Last-Event-ID", Long.toString(stream.last));
            }
            String why;
            long before = stream.last;
            try {
                HttpResponse<InputStream> response = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
                if (response.statusCode() >= 400) {
                    try (InputStream in = response.body()) {
                        throw problem(response.statusCode(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
                    }
                }
                DeploymentStatus end = stream.read(response.body());
                if (end != null) {
                    return end;
                }
                why = "the server closed it before the deployment ended";
            } catch (IOException e) {
                why = describe(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException(ExitCode.UNAVAILABLE, "interrupted");
            }
            failures = stream.last > before ? 1 : failures + 1;
            if (failures > STREAM_RECONNECTS) {
                throw new CliException(ExitCode.UNAVAILABLE, "lost the event stream of deployment " + id + ": " + why);
            }
            pause(Duration.ofMillis(Math.min(MAX_BACKOFF.toMillis(), 250L << Math.min(failures, 5))));
        }
    }

    /**
     * The events of one deployment over one or more connections: {@code event:}, {@code id:} and
     * {@code data:} lines, a blank line ending each; {@link #last} is the seq of the last one given on.
     */
    private static final class EventStream {
        private final Consumer<DeployEvent> each;
        long last;

        EventStream(Consumer<DeployEvent> each) {
            this.each = each;
        }

        /** Reads one connection: the status of the {@code end} event, or null when the stream ended before it. */
        DeploymentStatus read(InputStream body) throws IOException {
            String event = "message";
            String eventId = null;
            StringBuilder data = new StringBuilder();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.isEmpty()) {
                        if (data.length() > 0) {
                            DeploymentStatus end = dispatch(event, data.toString(), eventId);
                            if (end != null) {
                                return end;
                            }
                        }
                        event = "message";
                        eventId = null;
                        data.setLength(0);
                    } else if (line.startsWith("event:")) {
                        event = line.substring(6).trim();
                    } else if (line.startsWith("data:")) {
                        data.append(data.length() > 0 ? "\n" : "").append(line.substring(5).stripLeading());
                    } else if (line.startsWith("id:")) {
                        eventId = line.substring(3).trim();
                    }
                }
            }
            return null;
        }

        private DeploymentStatus dispatch(String event, String data, String eventId) {
            JsonNode node = Json.read(data, "an event from the server");
            if (event.equals("end")) {
                return DeploymentStatus.valueOf(node.path("status").asText());
            }
            if (event.equals("error")) {
                throw new CliException(ExitCode.BAD_INPUT, node.path("detail").asText("the server ended the event stream"));
            }
            long seq = eventId == null ? node.path("seq").asLong() : Long.parseLong(eventId);
            if (seq > last) {
                Json.event(node).ifPresent(each);
                last = seq;
            }
            return null;
        }
    }

    private static void pause(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException(ExitCode.UNAVAILABLE, "interrupted");
        }
    }
}
