package dev.deploykit.server;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar deploy-server.jar --config server.yaml}: runs the server until SIGTERM or Ctrl-C,
 * then shuts down gracefully. {@code --new-token NAME ROLE} prints a fresh API token and its line for
 * the tokens file, and exits.
 */
public final class DeployServerMain {
    private DeployServerMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("--new-token")) {
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String token = "dk_" + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            ApiTokens.Role role = ApiTokens.Role.valueOf(args[2].toUpperCase(Locale.ROOT));
            System.out.println("token (give it to " + args[1] + "; it is not kept anywhere): " + token);
            System.out.println("line for the tokens file:");
            System.out.println(ApiTokens.line(args[1], role, token));
            return;
        }
        if (args.length != 2 || !args[0].equals("--config")) {
            System.err.println("usage: deploy-server --config server.yaml | --new-token NAME viewer|deployer|admin");
            System.exit(2);
        }
        DeployServer server;
        try {
            server = DeployServer.start(Path.of(args[1]));
        } catch (ServerConfig.ConfigException | IllegalArgumentException e) { // a bad setting, named in the message
            System.err.println("deploy-server: " + e.getMessage());
            System.exit(2);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "deploy-server-shutdown"));
        System.out.println("deploy-server: API on port " + server.apiPort() + ", agents on port " + server.agentPort());
        stopped.await();
    }
}
