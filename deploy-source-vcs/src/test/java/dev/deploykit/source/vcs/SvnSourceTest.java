package dev.deploykit.source.vcs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.Binding;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodePreview;
import dev.deploykit.Package;
import dev.deploykit.Secret;
import dev.deploykit.Server;
import dev.deploykit.SourceException;
import dev.deploykit.spi.SecretSource;
import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Subversion sources against a real {@code svnserve} with a password file, on loopback: tags
 * deployed to three simulated nodes equal {@code svn export} byte for byte through v1, v2 and a
 * rollback; bad credentials, unknown paths and unreachable servers publish nothing, and the
 * password shows up in no message and no package field.
 */
class SvnSourceTest {
    private static final String PASSWORD = "pa55-Secret-Value-7731";
    private static final List<String> NODES = List.of("n1", "n2", "n3");
    @TempDir
    Path tmp;
    private Svnserve server;
    private Path wc;
    private DeployKit kit;

    @BeforeEach
    void repository() throws Exception {
        server = new Svnserve(Files.createDirectories(tmp.resolve("svn")), PASSWORD);
        Run.in(tmp, "svn", "mkdir", "-q", "--username", "alice", "-m", "layout", server.fileUrl("trunk"), server.fileUrl("tags"));
        wc = tmp.resolve("wc");
        Run.in(tmp, "svn", "checkout", "-q", server.fileUrl("trunk"), wc.toString());
        Files.writeString(wc.resolve("README"), "billing v1\n");
        Files.createDirectories(wc.resolve("deploy"));
        Files.writeString(wc.resolve("deploy/install"), "echo \"$DEPLOYKIT_PHASE $DEPLOYKIT_VERSION\" >> \"$DEPLOYKIT_ROOT/history\"\n");
        Files.createDirectories(wc.resolve("bin"));
        Files.writeString(wc.resolve("bin/run"), "#!/bin/sh\necho run\n");
        Run.in(wc, "svn", "add", "-q", "README", "deploy", "bin");
        Run.in(wc, "svn", "propset", "-q", "svn:executable", "on", "bin/run");
        Run.in(wc, "svn", "commit", "-q", "--username", "alice", "-m", "first import");
        Run.in(tmp, "svn", "copy", "-q", "--username", "alice", "-m", "tag v1", server.fileUrl("trunk"), server.fileUrl("tags/v1"));
        kit = DeployKit.builder().transport(LocalTransport.create()).artifactDir(tmp.resolve("artifacts"))
                .secrets(SecretSource.of(Map.of("svn-pass", PASSWORD, "wrong-pass", "not-" + PASSWORD))).build();
        for (String id : NODES) {
            kit.servers().register(Server.of(id, Binding.local(tmp.resolve(id)), Map.of()));
        }
        kit.sources().register("billing", SvnSource.of(server.url(), Credentials.password("alice", Secret.of("svn-pass"))));
    }

    @AfterEach
    void stop() throws Exception {
        if (kit != null) {
            kit.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void deploysTagsToThreeNodesAndRollsBackWithTreesEqualToSvnExport() throws Exception {
        Package v1 = kit.packages().publishFrom("billing", "tags/v1");
        assertEquals("3", v1.version(), "the tag's last changed revision");
        assertEquals("alice", v1.metadata().fields().get("source.author"));
        assertEquals("tag v1", v1.metadata().fields().get("source.message"));
        assertEquals(v1, kit.packages().publishFrom("billing", "tags/v1"), "the same revision published twice is the same package");
        deploy(Action.install("billing", "3"));
        assertNodesMatch("3", export("tags/v1"));

        Files.writeString(wc.resolve("README"), "billing v2\n");
        Files.writeString(wc.resolve("new.txt"), "new\n");
        Run.in(wc, "svn", "add", "-q", "new.txt");
        Run.in(wc, "svn", "commit", "-q", "--username", "alice", "-m", "second change");
        Run.in(tmp, "svn", "copy", "-q", "--username", "alice", "-m", "tag v2", server.fileUrl("trunk"), server.fileUrl("tags/v2"));
        Package v2 = kit.packages().publishFrom("billing", "tags/v2");
        assertEquals("5", v2.version());

        List<NodePreview> preview = kit.preview(DeployPlan.builder().action(Action.install("billing", "5")).targetAll().build());
        for (NodePreview p : preview) {
            assertEquals("r3", p.source().from());
            assertEquals("r5", p.source().to());
            assertEquals(List.of("r5 alice: tag v2", "r4 alice: second change"), p.source().between(), p.toString());
        }

        Deployment upgrade = deploy(Action.install("billing", "5"));
        assertNodesMatch("5", export("tags/v2"));
        deploy(Action.rollback(upgrade.id()));
        assertNodesMatch("3", export("tags/v1"));
        for (String id : NODES) {
            assertEquals(List.of("install 3", "install 5", "install 3"), Files.readAllLines(tmp.resolve(id).resolve("history")), id);
        }
        for (Package p : List.of(v1, v2)) {
            assertFalse(p.metadata().fields().toString().contains(PASSWORD), "the password is in no package field");
        }
    }

    @Test
    void badCredentialsAnUnknownPathAndAnUnreachableServerPublishNothingAndNeverShowThePassword() throws Exception {
        kit.sources().register("wrong", SvnSource.of(server.url(), Credentials.password("alice", Secret.of("wrong-pass"))));
        SourceException denied = assertThrows(SourceException.class, () -> kit.packages().publishFrom("wrong", "tags/v1"));
        assertEquals(SourceException.Reason.AUTHENTICATION, denied.reason(), denied.getMessage());
        assertFalse(denied.retryable());

        SourceException unknown = assertThrows(SourceException.class, () -> kit.packages().publishFrom("billing", "tags/v9"));
        assertEquals(SourceException.Reason.UNKNOWN_REF, unknown.reason(), unknown.getMessage());
        assertTrue(unknown.getMessage().contains("tags/v9"), unknown.getMessage());

        kit.sources().register("gone", SvnSource.of("svn://127.0.0.1:" + Run.freePort() + "/repo",
                Credentials.password("alice", Secret.of("svn-pass"))));
        SourceException unreachable = assertThrows(SourceException.class, () -> kit.packages().publishFrom("gone", "tags/v1"));
        assertEquals(SourceException.Reason.UNREACHABLE, unreachable.reason(), unreachable.getMessage());
        assertTrue(unreachable.retryable());

        for (SourceException e : List.of(denied, unknown, unreachable)) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                assertFalse(String.valueOf(t.getMessage()).contains(PASSWORD), t.toString());
            }
        }
        assertEquals(List.of(), kit.packages().names());
    }

    /** {@code svn export} of {@code path}. */
    private Path export(String path) throws Exception {
        Path dir = tmp.resolve("export-" + path.replace('/', '-'));
        if (Files.isDirectory(dir)) {
            return dir;
        }
        Run.in(tmp, "svn", "export", "-q", server.fileUrl(path), dir.toString());
        return dir;
    }

    private void assertNodesMatch(String version, Path expected) {
        for (String id : NODES) {
            Path home = tmp.resolve(id).resolve("var/lib/deploykit/bundles/billing");
            assertEquals(Run.treeOrFail(expected), Run.treeOrFail(home.resolve(version).resolve("tree")), id);
            try {
                assertEquals(version, Files.readSymbolicLink(home.resolve("current")).toString(), id);
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        }
    }

    private Deployment deploy(Action action) throws InterruptedException {
        Deployment d = kit.start(DeployPlan.builder().action(action).targetAll().build());
        assertTrue(d.await(Duration.ofMinutes(1)).isTerminal(), "deployment did not finish");
        assertEquals(DeploymentStatus.SUCCEEDED, d.status(), () -> d.tasks().toString());
        return d;
    }
}
