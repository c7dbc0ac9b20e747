package dev.deploykit.cli;

import dev.deploykit.DeployException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code deploykit}, the operator command line ({@code docs/cli.md}). Against a deploy-server
 * ({@code --server URL --token-file F}) it lists and shows servers, groups, packages and
 * deployments, publishes packages, previews and applies plan files and watches, pauses, resumes,
 * promotes, cancels and retries deployments; {@code deploykit run} is console mode, an embedded
 * controller that deploys over SSH with no server. Exit codes: {@link ExitCode}.
 *
 * <pre>{@code
 * int exit = DeployKitCli.run(new String[] {"deployments", "list"}, System.out, System.err, System.getenv());
 * }</pre>
 *
 * One instance per {@link #run}; not thread-safe.
 */
@Command(name = "deploykit", scope = ScopeType.INHERIT, mixinStandardHelpOptions = true, versionProvider = DeployKitCli.Version.class,
        usageHelpAutoWidth = true,
        description = "Deploy packages to your servers, through a deploy-server or over SSH (console mode: deploykit run).",
        subcommands = {
                ServerCommands.Servers.class, ServerCommands.Groups.class, ServerCommands.Packages.class, ServerCommands.PackageCommand.class,
                ServerCommands.Deployments.class, ServerCommands.DeploymentCommand.class, ServerCommands.Plan.class, RunCommand.class,
                CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:succeeded", "1:the deployment failed", "2:bad input (usage, a file, an id, a request the server refused)",
                "3:the deployment was rolled back", "4:the deployment was cancelled",
                "5:the server cannot be reached or failed, or the token was refused"})
public final class DeployKitCli {
    enum Format { text, json }

    @Option(names = "--server", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "the deploy-server, e.g. https://deploy.internal:8443 (default: $DEPLOYKIT_SERVER)")
    String server;

    @Option(names = "--token-file", scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "file holding the API token; never given on the command line (default: $DEPLOYKIT_TOKEN_FILE)")
    Path tokenFile;

    @Option(names = "--ca", scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "PEM certificate of a private CA to trust for the server's TLS (default: $DEPLOYKIT_CA, else the JDK's CAs)")
    Path ca;

    @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, paramLabel = "text|json", defaultValue = "text",
            description = "text for people, json for scripts (default: ${DEFAULT-VALUE})")
    Format output;

    @Spec
    CommandSpec spec;

    final PrintStream out;
    final PrintStream err;
    private final Map<String, String> env;
    private ServerApi api;

    private DeployKitCli(PrintStream out, PrintStream err, Map<String, String> env) {
        this.out = out;
        this.err = err;
        this.env = env;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err, System.getenv()));
    }

    /** Runs one command line and returns its exit code; {@code env} stands for the environment. */
    public static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
        return commandLine(out, err, env).execute(args);
    }

    /** The command tree, printing to {@code out} and {@code err}, with errors as one line and their exit code. */
    static CommandLine commandLine(PrintStream out, PrintStream err, Map<String, String> env) {
        CommandLine line = new CommandLine(new DeployKitCli(out, err, env));
        line.setOut(new PrintWriter(out, true));
        line.setErr(new PrintWriter(err, true));
        line.setExecutionExceptionHandler((e, commandLine, parsed) -> {
            ExitCode code = exitCode(e);
            err.println("deploykit: " + e.getMessage());
            if (code == ExitCode.FAILED) {
                e.printStackTrace(err);
            }
            return code.code();
        });
        return line;
    }

    /** What an error from a command exits with: its own code, bad input for a refused file or value, else failed. */
    private static ExitCode exitCode(Exception e) {
        if (e instanceof CliException c) {
            return c.exitCode();
        }
        if (e instanceof DeployException d) {
            return d.retryable() ? ExitCode.UNAVAILABLE : ExitCode.BAD_INPUT;
        }
        return e instanceof IllegalArgumentException ? ExitCode.BAD_INPUT : ExitCode.FAILED;
    }

    /** The server this command line talks to, from the options or the environment. */
    ServerApi api() {
        if (api == null) {
            String url = server != null ? server : env.get("DEPLOYKIT_SERVER");
            Path tokens = tokenFile != null ? tokenFile : env.containsKey("DEPLOYKIT_TOKEN_FILE") ? Path.of(env.get("DEPLOYKIT_TOKEN_FILE")) : null;
            Path trust = ca != null ? ca : env.containsKey("DEPLOYKIT_CA") ? Path.of(env.get("DEPLOYKIT_CA")) : null;
            if (url == null || tokens == null) {
                throw new CliException(ExitCode.BAD_INPUT, "which server? give --server URL and --token-file FILE (or set DEPLOYKIT_SERVER and "
                        + "DEPLOYKIT_TOKEN_FILE); for console mode without a server see 'deploykit run --help'");
            }
            api = ServerApi.connect(url, tokens, trust, err);
        }
        return api;
    }

    Output output() {
        return new Output(out, output == Format.json);
    }

    boolean json() {
        return output == Format.json;
    }

    @Command(name = "completion", description = {"Prints a bash completion script for deploykit (zsh too, after 'autoload bashcompinit; bashcompinit').",
            "Install it with: deploykit completion > /etc/bash_completion.d/deploykit"})
    int completion() {
        out.print(AutoComplete.bash("deploykit", spec.commandLine()));
        return ExitCode.SUCCEEDED.code();
    }

    /** The version Maven built, from {@code version.properties}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = DeployKitCli.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {"deploykit " + p.getProperty("version", "(unknown version)")};
        }
    }
}
