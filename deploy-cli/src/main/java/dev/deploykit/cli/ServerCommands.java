package dev.deploykit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.plan.PlanFiles;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** The commands that talk to a deploy-server's REST API ({@code docs/server.md}). */
final class ServerCommands {
    private static final int OK = ExitCode.SUCCEEDED.code();

    private ServerCommands() {}

    private static String seg(String id) {
        return ServerApi.segment(id);
    }

    @Command(name = "servers", description = "Servers the controller knows: liveness, labels, what is installed.")
    static final class Servers {
        private static final List<Output.Column> COLUMNS = List.of(
                new Output.Column("ID", s -> Output.text(s, "id")),
                new Output.Column("LIVENESS", s -> Output.text(s, "liveness") + (s.path("cordoned").asBoolean() ? " (cordoned)" : "")),
                new Output.Column("LABELS", s -> Output.pairs(s.path("labels"))),
                new Output.Column("INSTALLED", s -> Output.pairs(s.path("inventory"))));

        @ParentCommand
        DeployKitCli cli;

        @Command(name = "list", description = "Lists every server.")
        int list() {
            cli.output().list(cli.api().get("/servers"), COLUMNS);
            return OK;
        }

        @Command(name = "show", description = "Shows one server: binding, facts, inventory.")
        int show(@Parameters(paramLabel = "ID") String id) {
            cli.output().show(cli.api().get("/servers/" + seg(id)));
            return OK;
        }
    }

    @Command(name = "groups", description = "Groups of servers: explicit members and label selectors.")
    static final class Groups {
        private static final List<Output.Column> COLUMNS = List.of(
                new Output.Column("NAME", g -> Output.text(g, "name")),
                new Output.Column("MEMBERS", g -> Output.pairs(g.path("members"))),
                new Output.Column("SELECTOR", g -> Output.pairs(g.path("selector").path("matchLabels"))));

        @ParentCommand
        DeployKitCli cli;

        @Command(name = "list", description = "Lists every group.")
        int list() {
            cli.output().list(cli.api().get("/groups"), COLUMNS);
            return OK;
        }

        @Command(name = "show", description = "Shows one group.")
        int show(@Parameters(paramLabel = "NAME") String name) {
            cli.output().show(cli.api().get("/groups/" + seg(name)));
            return OK;
        }
    }

    @Command(name = "packages", description = "Published packages and their versions.")
    static final class Packages {
        private static final List<Output.Column> VERSIONS = List.of(
                new Output.Column("VERSION", p -> Output.text(p.path("metadata"), "version")),
                new Output.Column("FORMAT", p -> Output.text(p, "format")),
                new Output.Column("SIZE", p -> Long.toString(p.path("artifact").path("size").asLong())),
                new Output.Column("SHA256", p -> Output.text(p.path("artifact"), "sha256")),
                new Output.Column("PUBLISHED", p -> Output.text(p, "publishedAt")));

        @ParentCommand
        DeployKitCli cli;

        @Command(name = "list", description = "Lists every package name with its versions.")
        int list() {
            JsonNode packages = cli.api().get("/packages");
            if (cli.json()) {
                cli.output().show(packages);
                return OK;
            }
            var rows = Json.MAPPER.createArrayNode();
            packages.fields().forEachRemaining(e -> rows.addObject().put("name", e.getKey()).put("versions", Output.pairs(e.getValue())));
            cli.output().list(rows, List.of(new Output.Column("NAME", p -> Output.text(p, "name")),
                    new Output.Column("VERSIONS", p -> Output.text(p, "versions"))));
            return OK;
        }

        @Command(name = "show", description = "Shows the published versions of a package.")
        int show(@Parameters(paramLabel = "NAME") String name) {
            cli.output().list(cli.api().get("/packages/" + seg(name)), VERSIONS);
            return OK;
        }
    }

    @Command(name = "package", description = "Publishes package files.")
    static final class PackageCommand {
        @ParentCommand
        DeployKitCli cli;

        @Command(name = "publish", description = "Uploads a .deb, .rpm or script bundle (.tar.gz, .tar.zst or .tar) and publishes it; the file is streamed, not read into memory.")
        int publish(@Parameters(paramLabel = "FILE") Path file) throws IOException {
            if (!Files.isRegularFile(file)) {
                throw new CliException(ExitCode.BAD_INPUT, file + ": no such file");
            }
            JsonNode p = cli.api().post("/packages?filename=" + ServerApi.segment(file.getFileName().toString()),
                    HttpRequest.BodyPublishers.ofFile(file), "application/octet-stream");
            cli.output().result("published " + Output.text(p, "name") + " " + Output.text(p, "version") + " (" + Output.text(p, "format")
                    + ", " + Progress.bytes(p.path("size").asLong()) + ", sha256 " + Output.text(p, "sha256") + ")", p);
            return OK;
        }
    }

    @Command(name = "deployments", description = "Deployments, newest first.")
    static final class Deployments {
        static final List<Output.Column> COLUMNS = List.of(
                new Output.Column("ID", d -> Output.text(d, "id")),
                new Output.Column("STATUS", d -> Output.text(d, "status")),
                new Output.Column("NAME", d -> Output.text(d, "name")),
                new Output.Column("NODES", d -> Output.pairs(d.path("nodes"))));

        @ParentCommand
        DeployKitCli cli;

        @Command(name = "list", description = "Lists every deployment with its status and node counts.")
        int list() {
            cli.output().list(cli.api().get("/deployments"), COLUMNS);
            return OK;
        }

        @Command(name = "show", description = "Shows a deployment: its plan, batches and every node's task.")
        int show(@Parameters(paramLabel = "ID") String id) {
            cli.output().show(cli.api().get("/deployments/" + seg(id)));
            return OK;
        }
    }

    @Command(name = "deployment", description = "Watches or controls one deployment, through any server on its database.")
    static final class DeploymentCommand {
        @ParentCommand
        DeployKitCli cli;

        @Command(name = "watch", description = "Prints the deployment's progress until it ends; exits with the code for how it ended.")
        int watch(@Parameters(paramLabel = "ID") String id) {
            return Watch.follow(cli, id);
        }

        @Command(name = "pause", description = "Stops dispatching new nodes; running nodes finish.")
        int pause(@Parameters(paramLabel = "ID") String id, @Option(names = "--watch", description = "then watch it") boolean watch) {
            return control(id, "pause", watch);
        }

        @Command(name = "resume", description = "Resumes a paused deployment.")
        int resume(@Parameters(paramLabel = "ID") String id, @Option(names = "--watch", description = "then watch it") boolean watch) {
            return control(id, "resume", watch);
        }

        @Command(name = "promote", description = "Promotes past a manual-promote canary.")
        int promote(@Parameters(paramLabel = "ID") String id, @Option(names = "--watch", description = "then watch it") boolean watch) {
            return control(id, "promote", watch);
        }

        @Command(name = "cancel", description = "Stops dispatching and cancels running nodes.")
        int cancel(@Parameters(paramLabel = "ID") String id, @Option(names = "--watch", description = "then watch it") boolean watch) {
            return control(id, "cancel", watch);
        }

        @Command(name = "retry", description = "Runs the failed nodes again.")
        int retry(@Parameters(paramLabel = "ID") String id, @Option(names = "--watch", description = "then watch it") boolean watch) {
            return control(id, "retry", watch);
        }

        private int control(String id, String verb, boolean watch) {
            JsonNode d = cli.api().post("/deployments/" + seg(id) + "/" + verb, HttpRequest.BodyPublishers.noBody(), "application/json");
            cli.output().result("deployment " + id + ": " + verb + " accepted, status " + Output.text(d, "status"), d);
            return watch ? Watch.follow(cli, id) : OK;
        }
    }

    @Command(name = "plan", description = "Previews or applies a plan file (docs/plan-files.md).")
    static final class Plan {
        private static final List<Output.Column> PREVIEW = List.of(
                new Output.Column("SERVER", p -> Output.text(p, "serverId")),
                new Output.Column("BATCH", p -> p.path("batch").asInt() < 0 ? "-" : p.path("batch").asText() + (p.path("canary").asBoolean()
                        ? " (canary)" : "")),
                new Output.Column("CURRENT", p -> Output.text(p, "currentVersion")),
                new Output.Column("TARGET", p -> Output.text(p, "targetVersion")),
                new Output.Column("NOTE", p -> p.hasNonNull("leftOut") ? "left out: " + p.get("leftOut").asText()
                        : p.path("noop").asBoolean() ? "already there"
                        : String.join("; ", java.util.stream.Stream.of(revisions(p.path("source")), p.path("inventoryNote").asText(""),
                                p.path("rollbackNote").asText("")).filter(n -> !n.isEmpty()).toList())));

        /** A source change as "revision 1a2b3c4 → 5d6e7f8 (3 commits)", or "" when the package is not from a source. */
        private static String revisions(JsonNode source) {
            if (!source.isObject()) {
                return "";
            }
            int between = source.path("between").size();
            return "revision " + source.path("from").asText("none") + " → " + source.path("to").asText()
                    + (between == 0 ? "" : " (" + between + (between == 1 ? " change)" : " changes)"));
        }

        @ParentCommand
        DeployKitCli cli;

        @Command(name = "preview", description = "Shows what the plan would do on each node, touching nothing.")
        int preview(@Parameters(paramLabel = "FILE") Path file) {
            cli.output().list(send(file, "/deployments/preview"), PREVIEW);
            return OK;
        }

        @Command(name = "apply", description = "Starts the plan, then watches it to the end; exits with the code for how it ended.")
        int apply(@Parameters(paramLabel = "FILE") Path file,
                @Option(names = "--detach", description = "print the deployment's id and exit without watching") boolean detach) {
            JsonNode d = send(file, "/deployments");
            String id = d.path("id").asText();
            if (detach || !cli.json()) {
                cli.output().result("deployment " + id + " started: " + Output.text(d, "name"), d);
            }
            return detach ? OK : Watch.follow(cli, id);
        }

        /**
         * Posts the file's text, read here first so that a mistake in it is reported with its own
         * name; the server's errors about it (an unknown group) name it too.
         */
        private JsonNode send(Path file, String path) {
            PlanFiles.read(file);
            String text;
            try {
                text = Files.readString(file);
            } catch (IOException e) {
                throw new CliException(ExitCode.BAD_INPUT, "cannot read " + file + ": " + e.getMessage());
            }
            boolean json = file.getFileName().toString().endsWith(".json");
            try {
                return cli.api().post(path, HttpRequest.BodyPublishers.ofString(text), json ? "application/json" : "application/yaml");
            } catch (CliException e) {
                String own = file + ":";
                throw new CliException(e.exitCode(), e.getMessage().replaceFirst("^plan\\.(yaml|json):", java.util.regex.Matcher.quoteReplacement(own)), e);
            }
        }
    }

    /** Watching a deployment on the server: its events through {@link Progress}, then its exit code. */
    static final class Watch {
        private Watch() {}

        static int follow(DeployKitCli cli, String id) {
            long bytes = artifactBytes(cli, cli.api().get("/deployments/" + seg(id)));
            DeploymentStatus end = cli.api().watch(id, new Progress(cli.out, cli.json(), bytes));
            return ExitCode.of(end).code();
        }

        /** The size of the package an install deployment moves, or -1. */
        private static long artifactBytes(DeployKitCli cli, JsonNode deployment) {
            JsonNode install = deployment.path("plan").path("action").path("install");
            if (install.isMissingNode()) {
                return -1;
            }
            for (JsonNode p : cli.api().get("/packages/" + seg(install.path("package").asText()))) {
                if (p.path("metadata").path("version").asText().equals(install.path("version").asText())) {
                    return p.path("artifact").path("size").asLong(-1);
                }
            }
            return -1;
        }
    }
}
