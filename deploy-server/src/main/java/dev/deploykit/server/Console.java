package dev.deploykit.server;

import dev.deploykit.server.ApiTokens.Caller;
import dev.deploykit.server.ConsoleSessions.Session;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.Cookie;
import io.javalin.http.SameSite;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The web console, {@code /console}: one HTML page and plain ES modules from this jar (no build step,
 * nothing from a CDN), which drive the REST API from the browser. Logging in trades an API token for
 * a {@link ConsoleSessions session} in an HttpOnly, SameSite=Strict cookie; the API accepts that
 * cookie in place of a bearer token, and a write made with it must carry the session's CSRF token in
 * {@value #CSRF_HEADER} and, when the browser sends one, an {@code Origin} of this server. Every
 * page is served with a strict Content-Security-Policy (scripts from this server only).
 */
final class Console {
    static final String COOKIE = "dk_session";
    static final String CSRF_HEADER = "X-CSRF-Token";
    private static final String BASE = "dev/deploykit/server/console/";
    private static final Pattern ASSET = Pattern.compile("[a-z][a-z0-9-]*\\.(js|css|svg)");
    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    private final ApiTokens tokens;
    private final ConsoleSessions sessions;
    private final ApiRecords records;
    private final boolean secureCookie;

    Console(ApiTokens tokens, ConsoleSessions sessions, ApiRecords records, boolean secureCookie) {
        this.tokens = tokens;
        this.sessions = sessions;
        this.records = records;
        this.secureCookie = secureCookie;
    }

    void install(JavalinConfig config) {
        config.routes.get("/", ctx -> ctx.redirect("/console/"));
        config.routes.get("/console", Console::page); // and /console/: Javalin ignores trailing slashes
        config.routes.get("/console/assets/{file}", this::asset);
        // 200 either way: the page asks before it knows, and a 401 would be an error in the browser's console
        config.routes.get("/console/session", ctx -> json(ctx, 200, session(ctx).map(Console::view)
                .orElse(Map.of("loggedIn", false))));
        config.routes.post("/console/login", this::login);
        config.routes.post("/console/logout", ctx -> {
            Optional<Session> s = session(ctx);
            if (s.isPresent()) {
                checkWrite(ctx, s.get());
                sessions.remove(ctx.cookie(COOKIE));
            }
            ctx.removeCookie(COOKIE, "/");
            ctx.status(204);
        });
        // every other page of the console is the same shell; its modules read the path
        config.routes.get("/console/*", ctx -> page(ctx));
    }

    /** The caller behind the request's session cookie, if it has a live one. */
    Optional<Session> session(Context ctx) {
        return sessions.find(ctx.cookie(COOKIE));
    }

    /**
     * Refuses a write made with a session cookie unless it carries the session's CSRF token and, when
     * the browser names one, comes from this server's origin.
     */
    static void checkWrite(Context ctx, Session s) {
        if (!ConsoleSessions.csrfMatches(s, ctx.header(CSRF_HEADER))) {
            throw new ApiProblem(403, "forbidden", "a write from the console must carry its session's CSRF token in " + CSRF_HEADER, null);
        }
        String origin = ctx.header("Origin");
        if (origin != null && !sameOrigin(origin, ctx)) {
            throw new ApiProblem(403, "forbidden", "a write from the console must come from this server, not from " + origin, null);
        }
    }

    private static boolean sameOrigin(String origin, Context ctx) {
        try {
            URI o = URI.create(origin);
            String host = ctx.header("Host");
            return host != null && host.equalsIgnoreCase(o.getRawAuthority());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** {@code {"token": "..."}}: a known API token makes a session; the reply holds the CSRF token. */
    private void login(Context ctx) {
        String origin = ctx.header("Origin");
        if (origin != null && !sameOrigin(origin, ctx)) {
            throw new ApiProblem(403, "forbidden", "log in from this server's own page, not from " + origin, null);
        }
        String token = Json.text(Json.read(ctx.body(), "login"), "token").trim();
        Caller caller = tokens.authenticate(token).orElse(null);
        if (caller == null) {
            records.audit(java.time.Instant.now(), "-", "console.login", "", 401, "an unknown token");
            throw new ApiProblem(401, "unauthorized", "that API token is not known", "token");
        }
        ConsoleSessions.Login login = sessions.create(caller);
        ctx.cookie(new Cookie(COOKIE, login.id(), "/", (int) ConsoleSessions.LIFETIME.toSeconds(), secureCookie, true, null,
                SameSite.STRICT));
        records.audit(java.time.Instant.now(), caller.name(), "console.login", "", 200, "");
        json(ctx, 200, view(login.session()));
    }

    private static Map<String, Object> view(Session s) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("loggedIn", true);
        v.put("name", s.caller().name());
        v.put("role", s.caller().role().name().toLowerCase());
        v.put("groups", s.caller().groups());
        v.put("csrf", s.csrf());
        v.put("expires", s.expires());
        return v;
    }

    private static void page(Context ctx) throws IOException {
        headers(ctx);
        ctx.header("Cache-Control", "no-store");
        ctx.contentType("text/html; charset=utf-8").result(resource("index.html"));
    }

    private void asset(Context ctx) throws IOException {
        String file = ctx.pathParam("file");
        InputStream in = ASSET.matcher(file).matches() ? Console.class.getClassLoader().getResourceAsStream(BASE + file) : null;
        if (in == null) {
            throw new ApiProblem(404, "not found", "no console file " + file, null);
        }
        headers(ctx);
        ctx.header("Cache-Control", "no-cache");
        ctx.contentType(file.endsWith(".js") ? "text/javascript; charset=utf-8" : file.endsWith(".css") ? "text/css; charset=utf-8"
                : "image/svg+xml").result(in);
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = Console.class.getClassLoader().getResourceAsStream(BASE + name);
        if (in == null) {
            throw new IOException("the console's " + name + " is missing from the jar");
        }
        return in;
    }

    private static void headers(Context ctx) {
        ctx.header("Content-Security-Policy", CSP);
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "no-referrer");
    }

    private static void json(Context ctx, int status, Object body) {
        ctx.status(status).contentType("application/json").result(Json.write(body));
    }
}
