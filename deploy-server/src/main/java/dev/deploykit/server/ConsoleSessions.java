package dev.deploykit.server;

import dev.deploykit.server.ApiTokens.Caller;
import dev.deploykit.spi.support.Sha256;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The web console's sessions: logging in with an API token makes a session, held by the browser in
 * an HttpOnly cookie, with its own CSRF token that every write must send back in a header. Sessions
 * live in this server process's memory (a restart logs everyone out; behind a load balancer, make it
 * sticky), at most {@link #MAX} of them, each for {@link #LIFETIME} after login. Only the SHA-256 of
 * a session id is kept. Thread-safe.
 */
final class ConsoleSessions {
    static final Duration LIFETIME = Duration.ofHours(8);
    static final int MAX = 10_000;

    /** A logged-in browser: who it is and the CSRF token its writes carry. */
    record Session(Caller caller, String csrf, Instant expires) {}

    /** A new session: the id for the cookie (shown once) and the session. */
    record Login(String id, Session session) {}

    private final SecureRandom random = new SecureRandom();
    private final Clock clock;
    private final Map<String, Session> sessions = new LinkedHashMap<>();

    ConsoleSessions(Clock clock) {
        this.clock = clock;
    }

    synchronized Login create(Caller caller) {
        Instant now = clock.instant();
        sessions.values().removeIf(s -> !s.expires().isAfter(now));
        while (sessions.size() >= MAX) {
            sessions.remove(sessions.keySet().iterator().next()); // the oldest login
        }
        String id = randomToken();
        Session s = new Session(caller, randomToken(), now.plus(LIFETIME));
        sessions.put(hash(id), s);
        return new Login(id, s);
    }

    synchronized Optional<Session> find(String id) {
        if (id == null || id.isEmpty()) {
            return Optional.empty();
        }
        String key = hash(id);
        Session s = sessions.get(key);
        if (s != null && !s.expires().isAfter(clock.instant())) {
            sessions.remove(key);
            return Optional.empty();
        }
        return Optional.ofNullable(s);
    }

    synchronized void remove(String id) {
        if (id != null) {
            sessions.remove(hash(id));
        }
    }

    /** Whether {@code sent} is the session's CSRF token (compared in constant time). */
    static boolean csrfMatches(Session s, String sent) {
        return sent != null && MessageDigest.isEqual(s.csrf().getBytes(StandardCharsets.UTF_8), sent.getBytes(StandardCharsets.UTF_8));
    }

    private String randomToken() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static String hash(String id) {
        return HexFormat.of().formatHex(Sha256.newDigest().digest(id.getBytes(StandardCharsets.UTF_8)));
    }
}
