package dev.deploykit.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.deploykit.Binding;
import dev.deploykit.DeployEvent;
import dev.deploykit.DeployKit;
import dev.deploykit.Deployment;
import dev.deploykit.LabelSelector;
import dev.deploykit.NotFoundException;
import dev.deploykit.Pin;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import dev.deploykit.Target;
import dev.deploykit.plan.PlanFile;
import dev.deploykit.plan.PlanFiles;
import dev.deploykit.server.ApiRecords.Kept;
import dev.deploykit.server.ApiTokens.Caller;
import dev.deploykit.server.ApiTokens.Role;
import dev.deploykit.spi.support.Sha256;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.sse.SseClient;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The REST API, {@code /api/v1}, on Javalin: every route is a row of {@link #routes} with the role it
 * needs and, for a write, the action name the audit records. Writes may carry an
 * {@code Idempotency-Key}: a repeat gets the first response. Errors are RFC 9457 problem documents
 * ({@link ApiProblem}). Built only on DeployKit's public API.
 */
final class RestApi {
    static final String PREFIX = "/api/v1";
    private static final Set<String> SAFE_METHODS = Set.of("GET", "HEAD", "OPTIONS");

    /** One route: method, path under {@link #PREFIX}, the role it needs, the audit action (null for reads). */
    record Route(HandlerType method, String path, Role role, String action, Call call) {}

    /** A route's work: a status and a JSON body. */
    @FunctionalInterface
    interface Call {
        Reply handle(Context ctx, Caller caller) throws Exception;
    }

    record Reply(int status, Object body) {
        static Reply ok(Object body) {
            return new Reply(200, body);
        }
    }

    private final DeployKit kit;
    private final ApiRecords records;
    private final long maxUploadBytes;
    private final Clock clock;

    RestApi(DeployKit kit, ApiRecords records, long maxUploadBytes, Clock clock) {
        this.kit = kit;
        this.records = records;
        this.maxUploadBytes = maxUploadBytes;
        this.clock = clock;
    }

    List<Route> routes() {
        return List.of(
                new Route(HandlerType.GET, "/servers", Role.VIEWER, null, (ctx, c) -> Reply.ok(servers(ctx))),
                new Route(HandlerType.POST, "/servers", Role.ADMIN, "server.register", this::register),
                new Route(HandlerType.GET, "/servers/{id}", Role.VIEWER, null, (ctx, c) -> Reply.ok(server(kit.servers()
                        .get(ctx.pathParam("id")).orElseThrow(() -> new NotFoundException("server", ctx.pathParam("id")))))),
                new Route(HandlerType.GET, "/servers/{id}/inventory-history", Role.VIEWER, null,
                        (ctx, c) -> Reply.ok(kit.servers().inventoryHistory(ctx.pathParam("id")))),
                new Route(HandlerType.POST, "/servers/{id}/cordon", Role.DEPLOYER, "server.cordon",
                        (ctx, c) -> Reply.ok(server(kit.servers().cordon(ctx.pathParam("id"))))),
                new Route(HandlerType.POST, "/servers/{id}/uncordon", Role.DEPLOYER, "server.uncordon",
                        (ctx, c) -> Reply.ok(server(kit.servers().uncordon(ctx.pathParam("id"))))),
                new Route(HandlerType.PUT, "/servers/{id}/labels/{key}", Role.ADMIN, "server.label",
                        (ctx, c) -> Reply.ok(server(kit.servers().label(ctx.pathParam("id"), ctx.pathParam("key"),
                                Json.read(ctx.body(), "label value").asText())))),
                new Route(HandlerType.DELETE, "/servers/{id}", Role.ADMIN, "server.remove", (ctx, c) -> {
                    boolean removed = kit.servers().remove(ctx.pathParam("id"), "true".equals(ctx.queryParam("force")));
                    return Reply.ok(Map.of("removed", removed));
                }),
                new Route(HandlerType.GET, "/groups", Role.VIEWER, null, (ctx, c) -> Reply.ok(kit.groups().list())),
                new Route(HandlerType.POST, "/groups", Role.ADMIN, "group.create", this::createGroup),
                new Route(HandlerType.GET, "/groups/{name}", Role.VIEWER, null, (ctx, c) -> Reply.ok(kit.groups().get(ctx.pathParam("name"))
                        .orElseThrow(() -> new NotFoundException("group", ctx.pathParam("name"))))),
                new Route(HandlerType.GET, "/packages", Role.VIEWER, null, (ctx, c) -> Reply.ok(packages())),
                new Route(HandlerType.GET, "/packages/{name}", Role.VIEWER, null, (ctx, c) -> Reply.ok(kit.packages()
                        .versions(ctx.pathParam("name")))),
                new Route(HandlerType.POST, "/packages", Role.DEPLOYER, "package.publish", this::publish),
                new Route(HandlerType.GET, "/deployments", Role.VIEWER, null, (ctx, c) -> Reply.ok(deployments(ctx))),
                new Route(HandlerType.POST, "/deployments", Role.DEPLOYER, "deployment.start", this::start),
                new Route(HandlerType.POST, "/deployments/preview", Role.VIEWER, null, (ctx, c) -> Reply.ok(plan(ctx).preview(kit))),
                new Route(HandlerType.GET, "/deployments/{id}", Role.VIEWER, null, (ctx, c) -> {
                    Map<String, Object> view = deployment(find(ctx), true);
                    view.put("startedBy", records.starters(List.of(ctx.pathParam("id"))).get(ctx.pathParam("id")));
                    return Reply.ok(view);
                }),
                new Route(HandlerType.GET, "/deployments/{id}/events", Role.VIEWER, null, this::events),
                new Route(HandlerType.POST, "/deployments/{id}/pause", Role.DEPLOYER, "deployment.pause", (ctx, c) -> control(ctx, c,
                        Deployment::pause)),
                new Route(HandlerType.POST, "/deployments/{id}/resume", Role.DEPLOYER, "deployment.resume", (ctx, c) -> control(ctx, c,
                        Deployment::resume)),
                new Route(HandlerType.POST, "/deployments/{id}/promote", Role.DEPLOYER, "deployment.promote", (ctx, c) -> control(ctx, c,
                        Deployment::resume)),
                new Route(HandlerType.POST, "/deployments/{id}/cancel", Role.DEPLOYER, "deployment.cancel", (ctx, c) -> control(ctx, c,
                        Deployment::cancel)),
                new Route(HandlerType.POST, "/deployments/{id}/retry", Role.DEPLOYER, "deployment.retry", (ctx, c) -> control(ctx, c,
                        Deployment::retryFailed)),
                new Route(HandlerType.GET, "/pins", Role.VIEWER, null, (ctx, c) -> Reply.ok(kit.desired().pins().stream().map(RestApi::pin)
                        .toList())),
                new Route(HandlerType.PUT, "/pins/{group}/{package}", Role.DEPLOYER, "pin.set", this::setPin),
                new Route(HandlerType.DELETE, "/pins/{group}/{package}", Role.DEPLOYER, "pin.remove", (ctx, c) -> {
                    confine(c, Set.of(ctx.pathParam("group")), "unpin");
                    return Reply.ok(Map.of("removed", kit.desired().as(c.name()).unpin(ctx.pathParam("group"), ctx.pathParam("package"))));
                }),
                new Route(HandlerType.GET, "/desired", Role.VIEWER, null, (ctx, c) -> Reply.ok(desired())),
                new Route(HandlerType.GET, "/webhooks/deliveries", Role.ADMIN, null, (ctx, c) -> Reply.ok(records.deliveries(
                        (int) Math.min(1000, longParam(ctx, "limit", 100))))),
                new Route(HandlerType.GET, "/audit", Role.ADMIN, null, (ctx, c) -> Reply.ok(records.audit(longParam(ctx, "after", 0),
                        (int) Math.min(1000, longParam(ctx, "limit", 100))))));
    }

    /** Registers every route, the SSE stream and the error mapping on {@code config}. */
    void install(JavalinConfig config, ApiTokens tokens, Console console) {
        config.routes.before(PREFIX + "/*", ctx -> {
            if (!ctx.path().equals(PREFIX + "/openapi.yaml")) {
                ctx.attribute("caller", authenticate(ctx, tokens, console));
            }
        });
        for (Route r : routes()) {
            config.routes.addHttpHandler(r.method(), PREFIX + r.path(), ctx -> {
                ctx.attribute("route", PREFIX + r.path());
                run(r, ctx);
            });
        }
        config.routes.sse(PREFIX + "/deployments/{id}/events/stream", this::stream);
        config.routes.get(PREFIX + "/openapi.yaml", ctx -> ctx.contentType("application/yaml")
                .result(RestApi.class.getResourceAsStream("openapi.yaml")));
        config.routes.exception(ApiProblem.class, (e, ctx) -> e.writeTo(ctx));
        config.routes.exception(Exception.class, (e, ctx) -> ApiProblem.of(e).writeTo(ctx));
        config.routes.error(404, ctx -> {
            if (ctx.attribute("problem") == null && ctx.path().startsWith(PREFIX)) {
                new ApiProblem(404, "not found", "no route " + ctx.method() + " " + ctx.path(), null).writeTo(ctx);
            }
        });
    }

    /**
     * The caller: a bearer token, or else the console session in the request's cookie (whose writes
     * must pass {@link Console#checkWrite}).
     */
    private static Caller authenticate(Context ctx, ApiTokens tokens, Console console) {
        String header = ctx.header("Authorization");
        if (header == null) {
            Optional<ConsoleSessions.Session> session = console.session(ctx);
            if (session.isPresent()) {
                if (!SAFE_METHODS.contains(ctx.method().name())) {
                    Console.checkWrite(ctx, session.get());
                }
                return session.get().caller();
            }
        }
        if (header == null || !header.startsWith("Bearer ")) {
            throw new ApiProblem(401, "unauthorized", "send an API token: Authorization: Bearer <token> (or log in to the console)", null);
        }
        return tokens.authenticate(header.substring("Bearer ".length()).trim())
                .orElseThrow(() -> new ApiProblem(401, "unauthorized", "the API token is not known", null));
    }

    private void run(Route r, Context ctx) throws Exception {
        Caller caller = ctx.attribute("caller");
        if (!caller.role().allows(r.role())) {
            throw new ApiProblem(403, "forbidden", "token " + caller.name() + " (" + caller.role().name().toLowerCase() + ") may not "
                    + (r.action() != null ? r.action() : "read this") + ": it needs " + r.role().name().toLowerCase(), null);
        }
        if (r.action() == null) {
            write(ctx, r.call().handle(ctx, caller));
            return;
        }
        String key = ctx.header("Idempotency-Key");
        String target = String.join("/", new TreeMap<>(ctx.pathParamMap()).values());
        if (key == null) {
            audited(r, ctx, caller, target, () -> r.call().handle(ctx, caller));
            return;
        }
        // Uploads are fingerprinted by method, path and query: their body is streamed, not held.
        String request = ctx.method() + " " + ctx.path() + "?" + Optional.ofNullable(ctx.queryString()).orElse("")
                + (r.path().equals("/packages") ? "" : " " + HexFormat.of().formatHex(Sha256.newDigest().digest(ctx.bodyAsBytes())));
        Optional<Kept> kept = records.claim(caller.name(), key, request, clock.instant());
        if (kept.isPresent()) {
            Kept k = kept.get();
            if (!k.request().equals(request)) {
                throw new ApiProblem(422, "idempotency key reused", "Idempotency-Key " + key + " was used for another request", "Idempotency-Key");
            }
            if (k.status() == 0) {
                throw new ApiProblem(409, "in progress", "the first request with Idempotency-Key " + key + " is still running", null);
            }
            ctx.header("Idempotent-Replayed", "true");
            ctx.status(k.status()).contentType(k.status() >= 400 ? ApiProblem.TYPE : "application/json").result(k.body());
            return;
        }
        try {
            Reply reply = audited(r, ctx, caller, target, () -> r.call().handle(ctx, caller));
            records.complete(caller.name(), key, reply.status(), Json.write(reply.body()));
        } catch (ApiProblem | dev.deploykit.DeployException e) {
            ApiProblem p = e instanceof ApiProblem a ? a : ApiProblem.of(e);
            records.complete(caller.name(), key, p.status(), Json.write(p.body(ctx)));
            throw p;
        } catch (Exception e) {
            records.release(caller.name(), key);
            throw e;
        }
    }

    @FunctionalInterface
    private interface Work {
        Reply run() throws Exception;
    }

    /** Runs a write, records it in the audit with its outcome, and writes its reply. */
    private Reply audited(Route r, Context ctx, Caller caller, String target, Work work) throws Exception {
        Reply reply;
        try {
            reply = work.run();
        } catch (Exception e) {
            ApiProblem p = e instanceof ApiProblem a ? a : ApiProblem.of(e);
            records.audit(clock.instant(), caller.name(), r.action(), target, p.status(), p.detail());
            throw p;
        }
        String detail = reply.body() instanceof Map<?, ?> m && m.get("id") != null ? "id " + m.get("id") : "";
        records.audit(clock.instant(), caller.name(), r.action(), target.isEmpty() && !detail.isEmpty() ? detail.substring(3) : target,
                reply.status(), detail);
        write(ctx, reply);
        return reply;
    }

    private static void write(Context ctx, Reply reply) {
        ctx.status(reply.status()).contentType("application/json").result(Json.write(reply.body()));
    }

    // ---- servers, groups, packages ----

    private Map<String, Object> server(Server s) {
        return server(s, kit.groups().list());
    }

    /** {@code ?selector=role=web,env=prod} keeps the servers whose labels match. */
    private List<Map<String, Object>> servers(Context ctx) {
        String text = ctx.queryParam("selector");
        java.util.function.Predicate<Server> keep;
        try {
            keep = text == null || text.isBlank() ? s -> true : LabelSelector.parse(text)::matches;
        } catch (IllegalArgumentException e) {
            throw new ApiProblem(400, "bad request", "selector: " + e.getMessage(), "selector");
        }
        List<ServerGroup> groups = kit.groups().list();
        return kit.servers().list().stream().filter(keep).map(s -> server(s, groups)).toList();
    }

    private Map<String, Object> server(Server s, List<ServerGroup> groups) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", s.id());
        view.put("groups", groups.stream().filter(g -> g.contains(s)).map(ServerGroup::name).sorted().toList());
        view.put("hostname", s.hostname());
        view.put("addresses", s.addresses());
        view.put("labels", s.labels());
        view.put("binding", s.binding());
        view.put("liveness", kit.servers().liveness(s.id()));
        view.put("lastSeen", s.lastSeen());
        view.put("cordoned", s.cordoned());
        view.put("facts", s.facts());
        view.put("inventory", s.inventory());
        return view;
    }

    /**
     * Registers an SSH server: {@code {"id": "db-1", "ssh": {"host": "10.0.0.5", "port": 22, "user": "deploy"}, "labels": {...}}};
     * {@code ssh.root} sets an install root other than {@code /}.
     */
    private Reply register(Context ctx, Caller caller) {
        JsonNode body = Json.read(ctx.body(), "server");
        String id = Json.text(body, "id");
        JsonNode ssh = body.path("ssh");
        if (!ssh.isObject()) {
            throw new ApiProblem(400, "bad request", "ssh: an object with host, port and user (agents register themselves)", "ssh");
        }
        Binding binding = Binding.ssh(Json.text(ssh, "host"), ssh.path("port").asInt(22), Json.text(ssh, "user"));
        if (ssh.hasNonNull("root")) {
            Map<String, String> attributes = new TreeMap<>(binding.attributes());
            attributes.put("root", Json.text(ssh, "root"));
            binding = new Binding(binding.scheme(), attributes);
        }
        Map<String, String> labels = new TreeMap<>();
        body.path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
        return new Reply(201, server(kit.servers().register(Server.of(id, binding, labels))));
    }

    /** {@code {"name": "web", "members": ["web-1"], "selector": "role=web"}}. */
    private Reply createGroup(Context ctx, Caller caller) {
        JsonNode body = Json.read(ctx.body(), "group");
        List<String> members = new ArrayList<>();
        body.path("members").forEach(m -> members.add(m.asText()));
        String selector = body.path("selector").asText(null);
        return new Reply(201, kit.groups().create(new ServerGroup(Json.text(body, "name"), Set.copyOf(members),
                selector == null ? null : LabelSelector.parse(selector))));
    }

    private Map<String, Object> packages() {
        Map<String, Object> out = new TreeMap<>();
        for (String name : kit.packages().names()) {
            out.put(name, kit.packages().versions(name).stream().map(p -> p.version()).toList());
        }
        return out;
    }

    /**
     * Publishes the request body, streamed once into the artifact store's staging area (never held
     * in memory) and hashed on the way; {@code ?filename=app_1.0_all.deb} names it, since formats go
     * by name. A body over the upload limit is a 413 and leaves nothing behind.
     */
    private Reply publish(Context ctx, Caller caller) throws IOException {
        String name = ctx.queryParam("filename");
        if (name == null || name.isBlank() || name.contains("/") || name.startsWith(".")) {
            throw new ApiProblem(400, "bad request", "filename: the package file's name, e.g. ?filename=app_1.0_all.deb", "filename");
        }
        try (InputStream in = new Limited(ctx.req().getInputStream(), maxUploadBytes)) {
            dev.deploykit.Package p = kit.packages().publish(in, name);
            return new Reply(201, Map.of("name", p.name(), "version", p.version(), "format", p.format(), "sha256", p.artifact().sha256(),
                    "size", p.artifact().size()));
        } catch (dev.deploykit.StoreException e) {
            if (e.getCause() instanceof Limited.TooLarge) {
                throw new ApiProblem(413, "too large", e.getCause().getMessage(), null);
            }
            throw e;
        }
    }

    /** An upload that fails once it passes {@code max} bytes. */
    private static final class Limited extends java.io.FilterInputStream {
        static final class TooLarge extends IOException {
            TooLarge(long max) {
                super("the upload is over the limit of " + max + " bytes (api.maxUploadBytes)");
            }
        }

        private final long max;
        private long read;

        Limited(InputStream in, long max) {
            super(in);
            this.max = max;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            count(b < 0 ? 0 : 1);
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n = super.read(buf, off, len);
            count(Math.max(n, 0));
            return n;
        }

        private void count(int n) throws TooLarge {
            read += n;
            if (read > max) {
                throw new TooLarge(max);
            }
        }
    }


    // ---- deployments ----

    /** The plan file in the body: JSON when the request says so, else YAML; errors point into it. */
    private static PlanFile plan(Context ctx) {
        String type = Optional.ofNullable(ctx.contentType()).orElse("");
        return PlanFiles.load(ctx.body(), type.contains("json") ? "plan.json" : "plan.yaml");
    }

    private Reply start(Context ctx, Caller caller) {
        PlanFile plan = plan(ctx);
        confine(caller, plan.plan().target());
        return new Reply(201, deployment(plan.start(kit), true));
    }

    private Deployment find(Context ctx) {
        String id = ctx.pathParam("id");
        return kit.deployment(id).orElseThrow(() -> new NotFoundException("deployment", id));
    }

    private Reply control(Context ctx, Caller caller, java.util.function.Consumer<Deployment> action) {
        Deployment d = find(ctx);
        confine(caller, d.plan().target());
        action.accept(d);
        return Reply.ok(deployment(d, false));
    }

    /**
     * Every deployment, newest first, each with who started it (the audit's answer: the API token,
     * or {@code null} for one started from Java or by desired state); {@code ?server=web-1} keeps
     * those with a task on that server and adds the task as {@code node}.
     */
    private List<Map<String, Object>> deployments(Context ctx) {
        String server = ctx.queryParam("server");
        List<Map<String, Object>> out = new ArrayList<>();
        List<Deployment> all = new ArrayList<>(kit.deployments());
        Map<String, String> starters = records.starters(all.stream().map(Deployment::id).toList());
        for (Deployment d : all) {
            Optional<dev.deploykit.NodeTask> node = server == null ? Optional.empty()
                    : d.tasks().stream().filter(t -> t.serverId().equals(server)).findFirst();
            if (server != null && node.isEmpty()) {
                continue;
            }
            Map<String, Object> view = deployment(d, false);
            view.put("startedBy", starters.get(d.id()));
            node.ifPresent(t -> view.put("node", t));
            out.add(view);
        }
        out.sort(java.util.Comparator.comparing((Map<String, Object> v) -> String.valueOf(v.get("createdAt"))).reversed());
        return out;
    }

    private Map<String, Object> deployment(Deployment d, boolean full) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("id", d.id());
        view.put("name", d.plan().name());
        view.put("status", d.status());
        List<DeployEvent> events = d.events();
        view.put("createdAt", events.isEmpty() ? null : events.get(0).time());
        view.put("updatedAt", events.isEmpty() ? null : events.get(events.size() - 1).time());
        view.put("batches", d.batches());
        Map<String, Integer> counts = new TreeMap<>();
        d.tasks().forEach(t -> counts.merge(t.status().name(), 1, Integer::sum));
        view.put("nodes", counts);
        if (full) {
            view.put("tasks", d.tasks());
            view.put("plan", Json.read(PlanFiles.toJson(d.plan()), "plan"));
        }
        return view;
    }

    private Reply events(Context ctx, Caller caller) {
        long after = longParam(ctx, "after", 0);
        int limit = (int) Math.min(1000, longParam(ctx, "limit", 500));
        ArrayNode out = Json.MAPPER.createArrayNode();
        for (DeployEvent e : find(ctx).events()) {
            if (e.seq() > after && out.size() < limit) {
                out.add(Json.event(e));
            }
        }
        return Reply.ok(out);
    }

    /**
     * Server-Sent Events: each event of the deployment after {@code ?after=} (or the
     * {@code Last-Event-ID} a reconnecting client sends), then live ones, with the event's seq as id;
     * an {@code end} event when the deployment reaches a terminal status.
     */
    private void stream(SseClient client) {
        Context ctx = client.ctx();
        Deployment d;
        try {
            d = find(ctx);
        } catch (NotFoundException e) {
            client.sendEvent("error", Json.write(Map.of("detail", e.getMessage())));
            client.close();
            return;
        }
        long after = Optional.ofNullable(ctx.header("Last-Event-ID")).map(Long::parseLong).orElse(longParam(ctx, "after", 0));
        AtomicLong sent = new AtomicLong(after);
        Object lock = new Object();
        java.util.function.Consumer<DeployEvent> send = e -> {
            synchronized (lock) {
                if (e.seq() <= sent.get() || client.terminated()) {
                    return;
                }
                sent.set(e.seq());
                client.sendEvent(Json.eventType(e), Json.write(Json.event(e)), Long.toString(e.seq()));
                if (e instanceof DeployEvent.DeploymentStatusChanged s && s.status().isTerminal()) {
                    client.sendEvent("end", Json.write(Map.of("status", s.status())));
                    client.close();
                }
            }
        };
        client.keepAlive();
        try {
            AutoCloseable listening = d.onEvent(send);
            client.onClose(() -> {
                try {
                    listening.close();
                } catch (Exception ignored) {
                    // nothing more to stop
                }
            });
        } catch (RuntimeException e) {
            client.close();
            return;
        }
        d.events().forEach(send);
        if (d.status().isTerminal() && !client.terminated()) {
            client.sendEvent("end", Json.write(Map.of("status", d.status())));
            client.close();
        }
    }

    // ---- pins ----

    /** Pins, servers held out, convergence failures and the reconciler's latest decisions (newest first). */
    private Map<String, Object> desired() {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("pins", kit.desired().pins().stream().map(RestApi::pin).toList());
        view.put("held", new java.util.TreeSet<>(kit.desired().held()));
        view.put("failing", kit.desired().failing());
        List<dev.deploykit.ReconcileDecision> decisions = new ArrayList<>(kit.desired().decisions());
        java.util.Collections.reverse(decisions);
        view.put("decisions", decisions.subList(0, Math.min(100, decisions.size())));
        return view;
    }

    /** {@code PUT /pins/web/app} with {@code {"version": "1.2.0"}}. */
    private Reply setPin(Context ctx, Caller caller) {
        confine(caller, Set.of(ctx.pathParam("group")), "pin");
        JsonNode body = Json.read(ctx.body(), "pin");
        Pin p = kit.desired().as(caller.name()).pin(ctx.pathParam("group"), ctx.pathParam("package"), Json.text(body, "version"));
        return Reply.ok(pin(p));
    }

    private static Map<String, Object> pin(Pin p) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("group", p.group());
        view.put("package", p.packageName());
        view.put("version", p.version());
        view.put("pinnedBy", p.pinnedBy());
        view.put("pinnedAt", p.pinnedAt());
        return view;
    }

    // ---- helpers ----

    /** A token confined to groups may only act on plans whose targets are those groups and nothing wider. */
    private static void confine(Caller caller, Target target) {
        if (!caller.confined()) {
            return;
        }
        boolean narrow = !target.all() && target.servers().isEmpty() && (target.selector() == null || target.selector().equals(LabelSelector.NONE))
                && !target.groups().isEmpty();
        if (!narrow) {
            throw new ApiProblem(403, "forbidden", "token " + caller.name() + " is confined to groups " + new java.util.TreeSet<>(caller.groups())
                    + ": target those groups only (no servers, selectors or all)", "targets");
        }
        confine(caller, target.groups(), "deploy to");
    }

    private static void confine(Caller caller, Set<String> groups, String what) {
        if (!caller.confined()) {
            return;
        }
        for (String g : new java.util.TreeSet<>(groups)) {
            if (!caller.groups().contains(g)) {
                throw new ApiProblem(403, "forbidden", "token " + caller.name() + " may not " + what + " group " + g + ": it is confined to "
                        + new java.util.TreeSet<>(caller.groups()), "targets");
            }
        }
    }

    private static long longParam(Context ctx, String name, long fallback) {
        String v = ctx.queryParam(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new ApiProblem(400, "bad request", name + ": a whole number, but was '" + v + "'", name);
        }
    }
}
