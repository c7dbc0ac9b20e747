package dev.deploykit.source.vcs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.Action;
import dev.deploykit.Binding;
import dev.deploykit.ConflictException;
import dev.deploykit.DeployKit;
import dev.deploykit.DeployPlan;
import dev.deploykit.Deployment;
import dev.deploykit.DeploymentStatus;
import dev.deploykit.NodePreview;
import dev.deploykit.Package;
import dev.deploykit.Server;
import dev.deploykit.Secret;
import dev.deploykit.SourceException;
import dev.deploykit.spi.SecretSource;
import dev.deploykit.transport.local.LocalTransport;
import dev.deploykit.transport.ssh.SshFixtures;
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
 * Git sources against a real {@code git daemon} on loopback, with repositories made by the real
 * {@code git}, deploying to three simulated nodes: each node's tree is {@code git archive} of the
 * revision, byte for byte, through v1, v2 and a rollback; moved tags, unknown refs, unreachable
 * servers and LFS pointers publish nothing.
 */
class GitSourceTest {
    private static final List<String> NODES = List.of("n1", "n2", "n3");
    @TempDir
    Path tmp;
    private Path work;
    private GitDaemon daemon;
    private DeployKit kit;

    @BeforeEach
    void repository() throws Exception {
        Path served = Files.createDirectories(tmp.resolve("served"));
        work = Files.createDirectories(tmp.resolve("work"));
        Run.in(work, "git", "init", "-q", "-b", "main");
        Files.writeString(work.resolve("README"), "shop v1\n");
        Files.createDirectories(work.resolve("bin"));
        Files.writeString(work.resolve("bin/start.sh"), "#!/bin/sh\necho start\n");
        Run.in(work, "chmod", "755", "bin/start.sh");
        Files.createSymbolicLink(work.resolve("README.link"), Path.of("README"));
        Files.createDirectories(work.resolve("deploy"));
        Files.writeString(work.resolve("deploy/install"), "echo \"$DEPLOYKIT_PHASE $DEPLOYKIT_VERSION\" >> \"$DEPLOYKIT_ROOT/history\"\n");
        Files.write(work.resolve("data.bin"), new byte[] {0, 1, 2, (byte) 0xff, '\r', '\n'});
        commitAndTag("first", "v1");
        Run.in(tmp, "git", "clone", "-q", "--bare", work.toString(), served.resolve("shop.git").toString());
        Run.in(work, "git", "remote", "add", "origin", served.resolve("shop.git").toString());
        daemon = new GitDaemon(served);
        kit = DeployKit.builder().transport(LocalTransport.create()).artifactDir(tmp.resolve("artifacts")).build();
        for (String id : NODES) {
            kit.servers().register(Server.of(id, Binding.local(tmp.resolve(id)), Map.of()));
        }
        kit.sources().register("shop", GitSource.builder(daemon.url("shop.git")).cacheDir(tmp.resolve("cache")).build());
    }

    @AfterEach
    void stop() throws Exception {
        if (kit != null) {
            kit.close();
        }
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void deploysTagsToThreeNodesAndRollsBackWithTreesEqualToGitArchive() throws Exception {
        Package v1 = kit.packages().publishFrom("shop", "refs/tags/v1");
        assertEquals("1", v1.version());
        Map<String, String> fields = v1.metadata().fields();
        assertEquals(Run.in(work, "git", "rev-parse", "v1^{commit}").trim(), fields.get("source.revision"));
        assertEquals("Alice Example <alice@example.com>", fields.get("source.author"));
        assertEquals("first", fields.get("source.message"));
        assertEquals("git", fields.get("source.type"));
        assertEquals(v1, kit.packages().publishFrom("shop", "v1"), "the same revision published twice is the same package");

        deploy(Action.install("shop", "1"));
        assertNodesMatch("1", archive("v1"));

        Files.writeString(work.resolve("README"), "shop v2\n");
        Files.delete(work.resolve("data.bin"));
        Files.createDirectories(work.resolve("lib/deep"));
        Files.writeString(work.resolve("lib/deep/x.txt"), "x\n");
        commitAndTag("second\n\nwith a body", "v2.0.1");
        Run.in(work, "git", "push", "-q", "origin", "main", "--tags");
        Package v2 = kit.packages().publishFrom("shop", "v2.0.1");
        assertEquals("2.0.1", v2.version());

        List<NodePreview> preview = kit.preview(DeployPlan.builder().action(Action.install("shop", "2.0.1")).targetAll().build());
        for (NodePreview p : preview) {
            assertEquals("1", p.currentVersion());
            assertEquals(fields.get("source.short"), p.source().from(), p.toString());
            assertEquals(v2.metadata().fields().get("source.short"), p.source().to(), p.toString());
        }

        Deployment upgrade = deploy(Action.install("shop", "2.0.1"));
        assertNodesMatch("2.0.1", archive("v2.0.1"));

        deploy(Action.rollback(upgrade.id()));
        assertNodesMatch("1", archive("v1"));
        for (String id : NODES) {
            assertEquals(List.of("install 1", "install 2.0.1", "install 1"), Files.readAllLines(tmp.resolve(id).resolve("history")), id);
        }
    }

    @Test
    void aForcePushedTagIsRefusedAsADifferentPackageUnderTheSameVersion() throws Exception {
        Package v1 = kit.packages().publishFrom("shop", "v1");
        Files.writeString(work.resolve("README"), "sneaky\n");
        commitAndTag("moved", null);
        Run.in(work, "git", "tag", "-f", "v1");
        Run.in(work, "git", "push", "-q", "--force", "origin", "refs/tags/v1");

        ConflictException e = assertThrows(ConflictException.class, () -> kit.packages().publishFrom("shop", "v1"));
        assertTrue(e.getMessage().contains(v1.metadata().fields().get("source.revision")), e.getMessage());
        assertEquals(List.of(v1), kit.packages().versions("shop"));
    }

    @Test
    void aBranchGetsACommitTimeVersionBelowTaggedOnes() throws Exception {
        Package tagged = kit.packages().publishFrom("shop", "v1");
        Package branch = kit.packages().publishFrom("shop", "main");
        String sha = Run.in(work, "git", "rev-parse", "main").trim();
        assertTrue(branch.version().matches("0~\\d{14}\\." + sha.substring(0, 7)), branch.version());
        assertEquals("refs/heads/main", branch.metadata().fields().get("source.ref"));
        assertEquals(List.of(branch, tagged), kit.packages().versions("shop"));
        assertEquals(branch.version(), kit.packages().publishFrom("shop", sha).version(), "a full commit id names the same revision");
    }

    @Test
    void anUnknownRefAnUnreachableServerAndAMissingRepositoryPublishNothing() throws Exception {
        SourceException unknown = assertThrows(SourceException.class, () -> kit.packages().publishFrom("shop", "v9.9"));
        assertEquals(SourceException.Reason.UNKNOWN_REF, unknown.reason());
        assertTrue(unknown.getMessage().contains("v9.9"), unknown.getMessage());

        int closed = Run.freePort();
        kit.sources().register("gone", GitSource.builder("git://127.0.0.1:" + closed + "/shop.git").cacheDir(tmp.resolve("cache")).build());
        SourceException unreachable = assertThrows(SourceException.class, () -> kit.packages().publishFrom("gone", "v1"));
        assertEquals(SourceException.Reason.UNREACHABLE, unreachable.reason(), unreachable.getMessage());
        assertTrue(unreachable.retryable());
        assertTrue(unreachable.getMessage().contains("127.0.0.1:" + closed), unreachable.getMessage());

        kit.sources().register("nowhere", GitSource.builder(daemon.url("nowhere.git")).cacheDir(tmp.resolve("cache")).build());
        SourceException missing = assertThrows(SourceException.class, () -> kit.packages().publishFrom("nowhere", "v1"));
        assertEquals(SourceException.Reason.NO_REPOSITORY, missing.reason(), missing.getMessage());

        assertEquals(List.of(), kit.packages().names());
    }

    @Test
    void overHttpWithBasicAuthTheRightPasswordPublishesAndAWrongOneIsRefusedWithoutShowingIt() throws Exception {
        String password = "g1t-Secret-Value-4242";
        try (GitHttpServer http = new GitHttpServer(tmp.resolve("served"), "alice", password);
                DeployKit secured = DeployKit.builder().transport(LocalTransport.create()).artifactDir(tmp.resolve("artifacts-http"))
                        .secrets(SecretSource.of(Map.of("git-pass", password, "wrong-pass", "not-" + password))).build()) {
            secured.servers().register(Server.of("n1", Binding.local(tmp.resolve("http-n1")), Map.of()));
            secured.sources().register("shop", GitSource.builder(http.url("shop.git"))
                    .credentials(Credentials.password("alice", Secret.of("git-pass"))).cacheDir(tmp.resolve("cache-http")).build());
            secured.sources().register("wrong", GitSource.builder(http.url("shop.git"))
                    .credentials(Credentials.password("alice", Secret.of("wrong-pass"))).cacheDir(tmp.resolve("cache-wrong")).build());
            secured.sources().register("anonymous", GitSource.builder(http.url("shop.git")).cacheDir(tmp.resolve("cache-anon")).build());

            for (String source : List.of("wrong", "anonymous")) {
                SourceException denied = assertThrows(SourceException.class, () -> secured.packages().publishFrom(source, "v1"));
                assertEquals(SourceException.Reason.AUTHENTICATION, denied.reason(), source + ": " + denied.getMessage());
                for (Throwable t = denied; t != null; t = t.getCause()) {
                    assertFalse(String.valueOf(t.getMessage()).contains(password), t.toString());
                }
            }
            assertEquals(List.of(), secured.packages().names(), "nothing published");

            Package v1 = secured.packages().publishFrom("shop", "v1");
            Deployment d = secured.start(DeployPlan.builder().action(Action.install("shop", v1.version())).targetAll().build());
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)));
            assertEquals(Run.treeOrFail(archive("v1")), Run.treeOrFail(tmp.resolve("http-n1/var/lib/deploykit/bundles/shop/1/tree")));
        }
    }

    @Test
    void overSshWithAKeyAndStrictHostKeysItPublishesAndAnUnknownHostKeyIsRefused() throws Exception {
        Path keys = Files.createDirectories(tmp.resolve("ssh"));
        SshFixtures.Key hostKey = SshFixtures.keygen(keys, "host_ed25519");
        SshFixtures.Key userKey = SshFixtures.keygen(keys, "id_ed25519");
        try (SshFixtures.Sshd sshd = SshFixtures.openssh(keys, hostKey, userKey);
                DeployKit secured = DeployKit.builder().transport(LocalTransport.create()).artifactDir(tmp.resolve("artifacts-ssh"))
                        .secrets(SecretSource.of(Map.of("git-key", Files.readString(userKey.file())))).build()) {
            String url = "ssh://" + sshd.user() + "@127.0.0.1:" + sshd.port() + tmp.resolve("served/shop.git");
            Path knownHosts = SshFixtures.knownHosts(keys, hostKey, List.of(sshd.port()));
            secured.sources().register("shop", GitSource.builder(url).credentials(Credentials.sshKey(Secret.of("git-key")))
                    .knownHosts(knownHosts).cacheDir(tmp.resolve("cache-ssh")).build());
            secured.sources().register("stranger", GitSource.builder(url).credentials(Credentials.sshKey(Secret.of("git-key")))
                    .knownHosts(Files.writeString(keys.resolve("empty_known_hosts"), "")).cacheDir(tmp.resolve("cache-stranger")).build());

            SourceException refused = assertThrows(SourceException.class, () -> secured.packages().publishFrom("stranger", "v1"));
            assertTrue(refused.getMessage().contains("is not in " + keys.resolve("empty_known_hosts"))
                    && refused.getMessage().contains("add it (ssh-keyscan)"), refused.getMessage());
            assertEquals(List.of(), secured.packages().names(), "nothing published");

            Package v1 = secured.packages().publishFrom("shop", "v1");
            assertEquals(Run.in(work, "git", "rev-parse", "v1^{commit}").trim(), v1.metadata().fields().get("source.revision"));
            secured.servers().register(Server.of("n1", Binding.local(tmp.resolve("ssh-n1")), Map.of()));
            Deployment d = secured.start(DeployPlan.builder().action(Action.install("shop", v1.version())).targetAll().build());
            assertEquals(DeploymentStatus.SUCCEEDED, d.await(Duration.ofMinutes(1)));
            assertEquals(Run.treeOrFail(archive("v1")), Run.treeOrFail(tmp.resolve("ssh-n1/var/lib/deploykit/bundles/shop/1/tree")));
        }
    }

    @Test
    void scriptsFromASavedSetASubmoduleNotedAndACacheOverItsBoundStartedAfresh() throws Exception {
        kit.scriptSets().save(dev.deploykit.ScriptSet.of("shop-scripts", dev.deploykit.Script.of("install",
                dev.deploykit.Command.shell("echo \"stored $DEPLOYKIT_VERSION\" >> \"$DEPLOYKIT_ROOT/history\""))), "1");
        kit.sources().register("stored", GitSource.builder(daemon.url("shop.git")).cacheDir(tmp.resolve("cache-small")).maxCacheBytes(1).build(),
                dev.deploykit.BundleScripts.scriptSet("shop-scripts", "1"));

        Path lib = Files.createDirectories(tmp.resolve("lib"));
        Run.in(lib, "git", "init", "-q", "-b", "main");
        Files.writeString(lib.resolve("lib.txt"), "a library\n");
        Run.in(lib, "git", "add", "-A");
        Run.in(lib, "git", "commit", "-q", "-m", "lib");
        Run.in(work, "git", "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib.toString(), "vendor/lib");
        commitAndTag("with a submodule", "v3");
        Run.in(work, "git", "push", "-q", "origin", "main", "--tags");

        Package v3 = kit.packages().publishFrom("stored", "v3");
        assertEquals("stored", v3.name(), "the package is named after the source");
        assertEquals("not shipped: vendor/lib@" + Run.in(lib, "git", "rev-parse", "--short=7", "HEAD").trim(),
                v3.metadata().fields().get("source.submodules"), v3.metadata().fields().toString());
        Path clone;
        try (var dirs = Files.list(tmp.resolve("cache-small"))) {
            clone = dirs.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        Path marker = Files.writeString(clone.resolve("marker"), "kept only while the cache is within its bound");

        deploy(Action.install("stored", "3"));
        for (String id : NODES) {
            assertEquals(List.of("stored 3"), Files.readAllLines(tmp.resolve(id).resolve("history")), "the saved set's install ran, not deploy/");
            Path tree = tmp.resolve(id).resolve("var/lib/deploykit/bundles/stored/3/tree");
            assertTrue(Files.isDirectory(tree.resolve("vendor/lib")) && Files.list(tree.resolve("vendor/lib")).findAny().isEmpty(),
                    "a submodule is an empty directory, as in git archive");
        }

        Files.writeString(work.resolve("README"), "shop v4\n");
        commitAndTag("fourth", "v4");
        Run.in(work, "git", "push", "-q", "origin", "main", "--tags");
        assertEquals("4", kit.packages().publishFrom("stored", "v4").version());
        assertFalse(Files.exists(marker), "the clone past maxCacheBytes was deleted before the next fetch");
    }

    @Test
    void aGitLfsPointerIsRefusedByName() throws Exception {
        Files.writeString(work.resolve("video.mp4"), "version https://git-lfs.github.com/spec/v1\n"
                + "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n");
        commitAndTag("lfs", "v3");
        Run.in(work, "git", "push", "-q", "origin", "--tags");
        SourceException e = assertThrows(SourceException.class, () -> kit.packages().publishFrom("shop", "v3"));
        assertEquals(SourceException.Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("video.mp4") && e.getMessage().contains("LFS"), e.getMessage());
        assertEquals(List.of(), kit.packages().names());
    }

    private void commitAndTag(String message, String tag) throws Exception {
        Run.in(work, "git", "add", "-A");
        Run.in(work, "git", "commit", "-q", "-m", message);
        if (tag != null) {
            Run.in(work, "git", "tag", "-a", tag, "-m", "release " + tag);
        }
    }

    /** {@code git archive} of {@code rev}, unpacked by tar. */
    private Path archive(String rev) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("archive-" + rev));
        Path tar = tmp.resolve("archive-" + rev + ".tar");
        Run.in(work, "git", "archive", "--format=tar", "-o", tar.toString(), rev);
        Run.in(dir, "tar", "-xf", tar.toString());
        return dir;
    }

    private void assertNodesMatch(String version, Path expected) {
        for (String id : NODES) {
            Path home = tmp.resolve(id).resolve("var/lib/deploykit/bundles/shop");
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
