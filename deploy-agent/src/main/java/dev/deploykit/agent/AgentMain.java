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
        Agent agent = new Agent(config);
        Runtime.getRuntime().addShutdownHook(new Thread(agent::close, "agent-shutdown"));
        agent.run();
    }
}
