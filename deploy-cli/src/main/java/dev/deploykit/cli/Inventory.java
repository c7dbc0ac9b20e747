package dev.deploykit.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.util.JsonParserDelegate;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.LabelSelector;
import dev.deploykit.Server;
import dev.deploykit.ServerGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The hosts of console mode ({@code deploykit run --inventory hosts.yaml}): SSH servers with their
 * labels, and groups of them by label selector or by name. Read strictly: an unknown or duplicate
 * key, a duplicate server id, a missing host or a group naming an unknown server is an error with
 * the file, line and column. Immutable.
 *
 * <pre>{@code
 * defaults: {user: deploy, port: 22}
 * servers:
 *   - {id: web-1, host: 10.0.0.11, labels: {role: web}}
 *   - {id: web-2, host: 10.0.0.12, port: 2222, user: admin, labels: {role: web}}
 * groups:
 *   web: {selector: role=web}
 *   canary: {members: [web-1]}
 * }</pre>
 *
 * <p>A server (and {@code defaults}) may also set {@code sudo: true} (commands through
 * {@code sudo -n}), {@code jump: user@bastion:22} (ProxyJump) and {@code root: /path} (an install
 * root other than {@code /}), the SSH transport's binding attributes.
 */
record Inventory(List<Server> servers, List<ServerGroup> groups) {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final List<String> SECTIONS = List.of("defaults", "servers", "groups");

    /** How to reach hosts, set in {@code defaults} and per server. */
    record Connection(String user, Integer port, Boolean sudo, String jump, String root) {}

    record Host(String id, String host, String user, Integer port, Boolean sudo, String jump, String root, Map<String, String> labels) {}

    record Group(String selector, List<String> members) {}

    Inventory {
        servers = List.copyOf(servers);
        groups = List.copyOf(groups);
    }

    /** Reads {@code file}; every mistake is a {@link CliException} ({@link ExitCode#BAD_INPUT}) naming file:line:column. */
    static Inventory read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new CliException(ExitCode.BAD_INPUT, "--inventory: cannot read " + file + ": " + e.getMessage());
        }
        return new Reader(file.toString()).read(text);
    }

    /** Registers the servers and creates the groups on {@code kit}. */
    void register(DeployKit kit) {
        servers.forEach(kit.servers()::register);
        groups.forEach(kit.groups()::create);
    }

    /** One read of one file: the sections in any order, each at most once. */
    private static final class Reader {
        private final String source;
        private Connection defaults = new Connection(null, null, null, null, null);
        private final List<Host> hosts = new ArrayList<>();
        private final List<JsonLocation> hostAt = new ArrayList<>();
        private final Map<String, Group> groups = new LinkedHashMap<>();
        private final Map<String, JsonLocation> groupAt = new HashMap<>();
        /** The field being read, for errors Jackson reports relative to it. */
        private String context = "";
        private KeyTracking parser;

        Reader(String source) {
            this.source = source;
        }

        Inventory read(String text) {
            try (KeyTracking p = new KeyTracking(YAML.createParser(text))) {
                parser = p;
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw error(p.currentTokenLocation(), "", "the top level must be a mapping with " + String.join(", ", SECTIONS));
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    JsonLocation at = p.currentTokenLocation();
                    p.nextToken();
                    switch (key) {
                        case "defaults" -> {
                            context = "defaults";
                            defaults = p.readValueAs(Connection.class);
                        }
                        case "servers" -> readServers(p);
                        case "groups" -> readGroups(p);
                        default -> throw error(at, key, "unknown key (known here: " + String.join(", ", SECTIONS) + ")");
                    }
                }
                if (p.nextToken() != null) {
                    throw error(p.currentTokenLocation(), "", "an inventory holds one document, but a second one starts here");
                }
            } catch (UnrecognizedPropertyException e) {
                throw error(parser.key(e.getPropertyName()), path(e), "unknown key (known here: "
                        + String.join(", ", new TreeSet<>(e.getKnownPropertyIds().stream().map(Object::toString).toList())) + ")");
            } catch (JacksonException e) {
                throw error(e.getLocation(), path(e), e.getOriginalMessage());
            } catch (IOException e) {
                throw new CliException(ExitCode.BAD_INPUT, source + ": " + e.getMessage());
            }
            return build();
        }

        /**
         * A parser that remembers where each key of the mappings it is in (or has just left) started:
         * Jackson reports an unknown key of a record only when it has read the whole mapping, and the
         * key is where to point.
         */
        private static final class KeyTracking extends JsonParserDelegate {
            private final Map<Integer, Map<String, JsonLocation>> keys = new HashMap<>();

            KeyTracking(JsonParser p) {
                super(p);
            }

            /** Where key {@code name} of the mapping the parser is in, or has just ended, started. */
            JsonLocation key(String name) {
                int depth = getParsingContext().getNestingDepth();
                for (int d : new int[] {depth + 1, depth}) {
                    JsonLocation at = keys.getOrDefault(d, Map.of()).get(name);
                    if (at != null) {
                        return at;
                    }
                }
                return currentLocation();
            }

            @Override
            public JsonToken nextToken() throws IOException {
                JsonToken t = super.nextToken();
                if (t == JsonToken.START_OBJECT) {
                    keys.put(getParsingContext().getNestingDepth(), new HashMap<>());
                } else if (t == JsonToken.FIELD_NAME) {
                    keys.computeIfAbsent(getParsingContext().getNestingDepth(), d -> new HashMap<>()).put(currentName(), currentTokenLocation());
                }
                return t;
            }

            @Override
            public String nextFieldName() throws IOException {
                return nextToken() == JsonToken.FIELD_NAME ? currentName() : null;
            }

            @Override
            public boolean nextFieldName(SerializableString name) throws IOException {
                return nextToken() == JsonToken.FIELD_NAME && name.getValue().equals(currentName());
            }
        }

        private void readServers(JsonParser p) throws IOException {
            expect(p, JsonToken.START_ARRAY, "servers", "a list of servers");
            while (p.nextToken() != JsonToken.END_ARRAY) {
                hostAt.add(p.currentTokenLocation());
                expect(p, JsonToken.START_OBJECT, "servers[" + hosts.size() + "]", "a server: {id, host, ...}");
                context = "servers[" + hosts.size() + "]";
                hosts.add(p.readValueAs(Host.class));
            }
        }

        private void readGroups(JsonParser p) throws IOException {
            expect(p, JsonToken.START_OBJECT, "groups", "a mapping of group name to {selector} or {members}");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                groupAt.put(name, p.currentTokenLocation());
                p.nextToken();
                expect(p, JsonToken.START_OBJECT, "groups." + name, "{selector: key=value} or {members: [ids]}");
                context = "groups." + name;
                groups.put(name, p.readValueAs(Group.class));
            }
        }

        private void expect(JsonParser p, JsonToken token, String field, String what) {
            if (p.currentToken() != token) {
                throw error(p.currentTokenLocation(), field, "must be " + what);
            }
        }

        private Inventory build() {
            Map<String, Integer> index = new HashMap<>();
            List<Server> servers = new ArrayList<>();
            for (int i = 0; i < hosts.size(); i++) {
                Host h = hosts.get(i);
                String field = "servers[" + i + "]";
                JsonLocation at = hostAt.get(i);
                if (h.id() == null || h.host() == null) {
                    throw error(at, field, (h.id() == null ? "id" : "host") + " is required");
                }
                Integer first = index.putIfAbsent(h.id(), i);
                if (first != null) {
                    JsonLocation was = hostAt.get(first);
                    throw error(at, field + ".id", "duplicate server id '" + h.id() + "' (first at " + was.getLineNr() + ":"
                            + was.getColumnNr() + ")");
                }
                try {
                    servers.add(Server.of(h.id(), binding(h), h.labels() == null ? Map.of() : h.labels()));
                } catch (IllegalArgumentException e) {
                    throw error(at, field, e.getMessage());
                }
            }
            List<ServerGroup> built = new ArrayList<>();
            groups.forEach((name, g) -> {
                JsonLocation at = groupAt.get(name);
                List<String> members = g.members() == null ? List.of() : g.members();
                if (g.selector() == null && members.isEmpty()) {
                    throw error(at, "groups." + name, "needs a selector (role=web) or members ([web-1, web-2])");
                }
                for (int i = 0; i < members.size(); i++) {
                    if (!index.containsKey(members.get(i))) {
                        throw error(at, "groups." + name + ".members[" + i + "]", "unknown server '" + members.get(i) + "'");
                    }
                }
                try {
                    built.add(new ServerGroup(name, Set.copyOf(members), g.selector() == null ? null : LabelSelector.parse(g.selector())));
                } catch (IllegalArgumentException e) {
                    throw error(at, "groups." + name, e.getMessage());
                }
            });
            return new Inventory(servers, built);
        }

        /** The SSH binding: the server's own settings over {@code defaults}, over the local user name and port 22, as {@code ssh} does. */
        private Binding binding(Host h) {
            int port = first(h.port(), defaults.port(), 22);
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port must be in 1..65535, but was " + port);
            }
            Map<String, String> attrs = new TreeMap<>(Map.of("host", h.host(), "port", Integer.toString(port),
                    "user", first(h.user(), defaults.user(), System.getProperty("user.name"))));
            if (first(h.sudo(), defaults.sudo(), false)) {
                attrs.put("sudo", "true");
            }
            String jump = first(h.jump(), defaults.jump(), null);
            if (jump != null) {
                attrs.put("jump", jump);
            }
            String root = first(h.root(), defaults.root(), null);
            if (root != null) {
                attrs.put("root", root);
            }
            return new Binding("ssh", attrs);
        }

        private static <T> T first(T own, T fallback, T otherwise) {
            return own != null ? own : fallback != null ? fallback : otherwise;
        }

        private String path(JacksonException e) {
            StringBuilder s = new StringBuilder(context);
            if (e instanceof com.fasterxml.jackson.databind.JsonMappingException m) {
                for (var ref : m.getPath()) {
                    s.append(ref.getFieldName() != null ? (s.length() > 0 ? "." : "") + ref.getFieldName() : "[" + ref.getIndex() + "]");
                }
            }
            return s.toString();
        }

        private CliException error(JsonLocation at, String field, String reason) {
            String where = at == null || at.getLineNr() < 1 ? "" : ":" + at.getLineNr() + ":" + at.getColumnNr();
            return new CliException(ExitCode.BAD_INPUT, source + where + " " + (field.isEmpty() ? "" : field + ": ") + reason);
        }
    }
}
