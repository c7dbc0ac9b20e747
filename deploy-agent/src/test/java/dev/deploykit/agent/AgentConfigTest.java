package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent's flags, config file and environment: strict, with one precedence, and errors that name the bad input. */
class AgentConfigTest {
    @TempDir
    Path dir;

    private String[] base(String... more) throws Exception {
        Path token = Files.writeString(dir.resolve("token"), "a-fleet-token-of-some-length\n");
        List<String> args = new java.util.ArrayList<>(List.of("--controller", "c1:7443,c2:7443", "--insecure", "--token-file", token.toString()));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    @Test
    void anUnknownFlagIsAnErrorNamingIt() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AgentConfig.parse(base("--bogus", "1"), Map.of()));
        assertTrue(e.getMessage().contains("--bogus"), e.getMessage());
    }

    @Test
    void anUnknownConfigKeyIsAnErrorNamingFileLineAndKey() throws Exception {
        Path conf = Files.writeString(dir.resolve("agent.conf"), "state-dir=/tmp/x\nstate_dir=/tmp/y\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AgentConfig.parse(base("--config", conf.toString()), Map.of()));
        assertTrue(e.getMessage().startsWith(conf + ":2: unknown key 'state_dir'"), e.getMessage());
    }

    @Test
    void labelRepeatsInTheFileAsOnTheCommandLine() throws Exception {
        Path conf = Files.writeString(dir.resolve("agent.conf"), "# a node in rack 7\nlabel=role=web\nlabel=rack=r7\n");
        AgentConfig c = AgentConfig.parse(base("--config", conf.toString()), Map.of());
        assertEquals(Map.of("role", "web", "rack", "r7"), c.labels());
        AgentConfig flags = AgentConfig.parse(base("--label", "role=db", "--label", "dc=sh1"), Map.of());
        assertEquals(Map.of("role", "db", "dc", "sh1"), flags.labels());
        assertEquals(List.of("c1:7443", "c2:7443"), flags.controllers());
    }

    @Test
    void everyOptionHasAnEnvironmentVariableAndTheCommandLineWinsThenTheEnvironmentThenTheFile() throws Exception {
        Path conf = Files.writeString(dir.resolve("agent.conf"), "state-dir=/from/file\nroot=/file-root\ncache-max-mib=5\n");
        Map<String, String> env = Map.of("DEPLOYKIT_AGENT_STATE_DIR", "/from/env", "DEPLOYKIT_AGENT_ID", "env-id",
                "DEPLOYKIT_AGENT_CONFIG", conf.toString());
        AgentConfig c = AgentConfig.parse(base("--id", "flag-id"), env);
        assertEquals("flag-id", c.agentId(), "the command line wins");
        assertEquals(Path.of("/from/env"), c.stateDir(), "then the environment");
        assertEquals("/file-root", c.installRoot(), "then the file, found through DEPLOYKIT_AGENT_CONFIG");
        assertEquals(5L * 1024 * 1024, c.cacheMaxBytes());
        assertEquals(30, c.keepAliveSeconds(), "then the default");
        assertEquals("DEPLOYKIT_AGENT_ENROLL_TOKEN_FILE", AgentOptions.envName("--enroll-token-file"));
    }

    @Test
    void badValuesNameTheFlag() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AgentConfig.parse(base("--cache-max-mib", "lots"), Map.of()));
        assertTrue(e.getMessage().contains("--cache-max-mib") && e.getMessage().contains("lots"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AgentConfig.parse(new String[] {"--controller", "nohost", "--insecure",
                "--token-file", dir.resolve("missing").toString()}, Map.of()));
        assertTrue(e.getMessage().contains("--controller must be HOST:PORT"), e.getMessage());
    }

    @Test
    void helpAndVersionGoToStdoutWithExitZeroFromTheRealJar() throws Exception {
        for (String flag : List.of("--help", "--version")) {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    System.getProperty("java.class.path"), AgentMain.class.getName(), flag).start();
            String out = new String(p.getInputStream().readAllBytes());
            String err = new String(p.getErrorStream().readAllBytes());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), flag + ": " + err);
            assertEquals("", err, flag);
            assertTrue(flag.equals("--help") ? out.contains("--controller") && out.contains("DEPLOYKIT_AGENT_STATE_DIR")
                    : out.startsWith("deploy-agent " + Agent.VERSION), out);
        }
    }
}
