package dev.deploykit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deploykit.DeploymentStatus;
import org.junit.jupiter.api.Test;

class ExitCodeTest {
    @Test
    void eachWayADeploymentEndsHasItsCode() {
        assertEquals(0, ExitCode.of(DeploymentStatus.SUCCEEDED).code());
        assertEquals(1, ExitCode.of(DeploymentStatus.FAILED).code());
        assertEquals(3, ExitCode.of(DeploymentStatus.ROLLED_BACK).code());
        assertEquals(4, ExitCode.of(DeploymentStatus.CANCELLED).code());
        assertEquals(1, ExitCode.of(DeploymentStatus.PAUSED).code(), "not over is not a success");
    }

    @Test
    void httpErrorsAreBadInputOrUnavailable() {
        for (int status : new int[] {400, 404, 409, 413, 422}) {
            assertEquals(ExitCode.BAD_INPUT, ExitCode.ofHttpStatus(status), "HTTP " + status);
        }
        for (int status : new int[] {401, 403, 500, 503}) {
            assertEquals(ExitCode.UNAVAILABLE, ExitCode.ofHttpStatus(status), "HTTP " + status);
        }
    }

    @Test
    void aProblemDocumentIsItsDetailWithTheFieldWhenTheDetailDoesNotNameIt() {
        CliException forbidden = ServerApi.problem(403, """
                {"type":"about:blank","title":"forbidden","status":403,"detail":"token dashboard (viewer) may not deployment.start: it needs deployer"}""");
        assertEquals(ExitCode.UNAVAILABLE, forbidden.exitCode());
        assertEquals("token dashboard (viewer) may not deployment.start: it needs deployer", forbidden.getMessage());
        assertEquals("filename: required (field filename)".replace(" (field filename)", ""), ServerApi.problem(400,
                "{\"status\":400,\"detail\":\"filename: required\",\"field\":\"filename\"}").getMessage());
        assertEquals("Idempotency-Key k was used for another request", ServerApi.problem(422,
                "{\"status\":422,\"detail\":\"Idempotency-Key k was used for another request\",\"field\":\"Idempotency-Key\"}").getMessage());
        assertEquals("no such group (field targets)", ServerApi.problem(422,
                "{\"status\":422,\"detail\":\"no such group\",\"field\":\"targets\"}").getMessage());
        assertEquals("the server answered 502", ServerApi.problem(502, "<html>bad gateway</html>").getMessage());
    }
}
