package dev.deploykit.agent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.transport.grpc.AgentGateway;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When the mutual-TLS handshake between a REAL agent process and a REAL gateway fails, each side's
 * log says which side refused and why, naming the files and names involved (docs/security.md, "When
 * the TLS handshake fails"). The gateway logs through slf4j-simple to this JVM's System.err, which
 * each test copies.
 */
class AgentTlsFailuresTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream gatewayLog = new ByteArrayOutputStream();
    private PrintStream stderr;

    @BeforeEach
    void copyStderr() {
        stderr = System.err;
        System.setErr(new PrintStream(new Tee(stderr, gatewayLog), true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restoreStderr() {
        System.setErr(stderr);
    }

    @Test
    void anAgentWhoseCaDidNotSignTheControllersCertificateSaysSoNamingItsCaFile() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        AgentFixtures.Pki other = AgentFixtures.pki(Files.createDirectories(dir.resolve("other")), "another-ca");
        try (AgentFixtures.Controller controller = AgentFixtures.Controller.start(AgentFixtures.gateway(pki), dir.resolve("artifacts"))) {
            List<String> args = args(pki, controller);
            args.set(args.indexOf("--ca") + 1, other.ca().toString());
            try (AgentFixtures.AgentProcess agent = new AgentFixtures.AgentProcess(dir.resolve("a1"), args).start()) {
                awaitLog(agent, "TLS: the controller's certificate at 127.0.0.1:" + controller.gateway().port()
                        + " is not signed by the CA in --ca " + other.ca() + " (subject CN=server, issuer CN=dk-test-ca)");
                awaitGatewayLog("TLS: agent at 127.0.0.1:");
                assertTrue(gatewayLog().contains("ended the handshake (alert: "), gatewayLog());
                assertFalse(agent.logText().contains(AgentFixtures.TOKEN), "no token in the agent's log");
                assertFalse(gatewayLog().contains(AgentFixtures.TOKEN), "no token in the gateway's log");
            }
        }
    }

    @Test
    void anAgentDialingAHostTheControllersCertificateDoesNotNameSaysSoWithTheNamesItHas() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        Path[] elsewhere = pki.serverCert("elsewhere", "DNS:controller.example,IP:10.9.8.7");
        try (AgentFixtures.Controller controller = AgentFixtures.Controller.start(AgentFixtures.gateway(pki).tls(elsewhere[0], elsewhere[1]),
                dir.resolve("artifacts"))) {
            try (AgentFixtures.AgentProcess agent = new AgentFixtures.AgentProcess(dir.resolve("a1"), args(pki, controller)).start()) {
                awaitLog(agent, "TLS: the controller's certificate at 127.0.0.1:" + controller.gateway().port()
                        + " does not name 127.0.0.1 (its names: controller.example, 10.9.8.7)");
            }
        }
    }

    @Test
    void anAgentWithoutACertificateIsToldToGetOneAndTheGatewayNamesIt() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        // no enrollment: the gateway requires a client certificate in the handshake itself
        try (AgentFixtures.Controller controller = AgentFixtures.Controller.start(AgentFixtures.gateway(pki), dir.resolve("artifacts"))) {
            List<String> args = args(pki, controller);
            for (String flag : List.of("--cert", "--key")) {
                args.remove(args.indexOf(flag) + 1);
                args.remove(flag);
            }
            try (AgentFixtures.AgentProcess agent = new AgentFixtures.AgentProcess(dir.resolve("a1"), args).start()) {
                awaitLog(agent, "TLS: the controller at 127.0.0.1:" + controller.gateway().port() + " refused the handshake (alert: "
                        + "certificate required): it requires a client certificate and this agent presented none; start the agent "
                        + "with --cert/--key or --enroll-token-file");
                awaitGatewayLog("presented no client certificate; agents need --cert/--key or --enroll-token-file");
                assertTrue(gatewayLog().matches("(?s).*TLS: agent at 127\\.0\\.0\\.1:\\d+ presented no client certificate.*"), gatewayLog());
            }
        }
    }

    @Test
    void anAgentCertificateFromACaOfTheSameNameButAnotherKeyIsRefusedAndBothSidesSaySo() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        // the CA made again under the same name: the agent sends its certificate, the gateway's trust refuses it
        AgentFixtures.Pki remade = AgentFixtures.pki(Files.createDirectories(dir.resolve("remade")));
        Path[] foreign = remade.agentCert("a1");
        try (AgentFixtures.Controller controller = AgentFixtures.Controller.start(AgentFixtures.gateway(pki), dir.resolve("artifacts"))) {
            List<String> args = args(pki, controller);
            args.set(args.indexOf("--cert") + 1, foreign[0].toString());
            args.set(args.indexOf("--key") + 1, foreign[1].toString());
            try (AgentFixtures.AgentProcess agent = new AgentFixtures.AgentProcess(dir.resolve("a1"), args).start()) {
                awaitLog(agent, "TLS: the controller at 127.0.0.1:" + controller.gateway().port() + " did not accept this agent's certificate "
                        + foreign[0] + " (subject CN=a1, issuer CN=dk-test-ca): it does not trust the CA that signed it");
                awaitGatewayLog("presented a certificate that is not signed by the gateway's client CA " + pki.ca()
                        + " (subject CN=a1, issuer CN=dk-test-ca, which has the name of that CA but not its key)");
                assertTrue(gatewayLog().matches("(?s).*TLS: agent at 127\\.0\\.0\\.1:\\d+ presented a certificate that is not signed.*"),
                        gatewayLog());
            }
        }
    }

    @Test
    void anAgentCertificateFromAnotherCaIsNotEvenSentAndTheAgentSaysWhy() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        // a CA the gateway does not list: the JDK's key manager picks no certificate for it
        AgentFixtures.Pki other = AgentFixtures.pki(Files.createDirectories(dir.resolve("other")), "another-ca");
        Path[] foreign = other.agentCert("a1");
        try (AgentFixtures.Controller controller = AgentFixtures.Controller.start(AgentFixtures.gateway(pki), dir.resolve("artifacts"))) {
            List<String> args = args(pki, controller);
            args.set(args.indexOf("--cert") + 1, foreign[0].toString());
            args.set(args.indexOf("--key") + 1, foreign[1].toString());
            try (AgentFixtures.AgentProcess agent = new AgentFixtures.AgentProcess(dir.resolve("a1"), args).start()) {
                awaitLog(agent, "TLS: the controller at 127.0.0.1:" + controller.gateway().port() + " refused the handshake: it requires a "
                        + "client certificate from a CA it trusts, and this agent's certificate " + foreign[0]
                        + " (subject CN=a1, issuer CN=another-ca) is not from one of the CAs it asks for, so the agent sent none");
                awaitGatewayLog("presented no client certificate");
            }
        }
    }

    @Test
    void aGatewayWithEnrollmentSaysWhichAgentCameWithoutACertificate() throws Exception {
        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        AgentGateway.Builder gateway = AgentFixtures.gateway(pki).enrollment(dev.deploykit.transport.grpc.AgentCa.load(pki.ca(), pki.caKey()),
                dev.deploykit.transport.grpc.Enrollment.autoApprove());
        try (AgentFixtures.Controller controller = AgentFixtures.Controller.start(gateway, dir.resolve("artifacts"))) {
            List<String> args = args(pki, controller);
            for (String flag : List.of("--cert", "--key")) {
                args.remove(args.indexOf(flag) + 1);
                args.remove(flag);
            }
            try (AgentFixtures.AgentProcess agent = new AgentFixtures.AgentProcess(dir.resolve("a1"), args).start()) {
                // the handshake succeeds (enrolling agents have no certificate yet); the call is refused
                awaitLog(agent, "refused this agent (a1): UNAUTHENTICATED: a client certificate is required");
                awaitGatewayLog("presented no client certificate; agents need --cert/--key or --enroll-token-file");
                assertTrue(gatewayLog().matches("(?s).*agent at 127\\.0\\.0\\.1:\\d+ presented no client certificate.*"), gatewayLog());
            }
        }
    }

    private static List<String> args(AgentFixtures.Pki pki, AgentFixtures.Controller controller) throws IOException {
        Path state = pki.ca().getParent().resolve("a1");
        return AgentFixtures.tlsArgs(pki, AgentFixtures.tokenFile(pki.ca().getParent(), AgentFixtures.TOKEN), controller.gateway().port(),
                "a1", state, Files.createDirectories(state.resolveSibling("root")));
    }

    private static void awaitLog(AgentFixtures.AgentProcess agent, String fragment) throws Exception {
        try {
            agent.awaitLog(fragment);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ":\n" + agent.logText(), e);
        }
    }

    private String gatewayLog() {
        return gatewayLog.toString(StandardCharsets.UTF_8);
    }

    private void awaitGatewayLog(String fragment) throws InterruptedException {
        try {
            AgentFixtures.waitUntil(Duration.ofSeconds(20), () -> gatewayLog().contains(fragment), "'" + fragment + "' in the gateway's log");
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ":\n" + gatewayLog(), e);
        }
    }

    /** Writes to both streams. */
    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int c) throws IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public void write(byte[] bytes, int off, int len) throws IOException {
            a.write(bytes, off, len);
            b.write(bytes, off, len);
        }
    }
}
