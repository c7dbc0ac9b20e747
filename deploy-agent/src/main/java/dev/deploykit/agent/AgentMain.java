package dev.deploykit.agent;

/**
 * Entry point of {@code deploy-agent.jar}:
 * {@code java -jar deploy-agent.jar --controller HOST:PORT --token-file FILE --ca CA.crt}. Runs until
 * stopped (SIGTERM). Exit code 2 for bad configuration.
 */
public final class AgentMain {
    private AgentMain() {}

    public static void main(String[] args) throws Exception {
        AgentConfig config;
        try {
            config = AgentConfig.parse(args);
        } catch (AgentConfig.Done done) {
            System.out.print(done.getMessage());
            System.exit(done.exitCode);
            return;
        } catch (IllegalArgumentException e) {
            System.err.println("deploy-agent: " + e.getMessage());
            System.exit(2);
            return;
        }
        Agent agent;
        try {
            agent = new Agent(config);
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
            System.err.println("deploy-agent: " + e.getMessage()); // e.g. a key that is not the certificate's
            System.exit(2);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(agent::close, "agent-shutdown"));
        agent.run();
    }
}
