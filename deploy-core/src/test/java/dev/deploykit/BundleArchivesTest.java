package dev.deploykit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deploykit.format.script.ScriptBundle;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.Transport;
import dev.deploykit.transport.local.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Script bundles as {@code .tar.gz}, {@code .tar.zst} and plain {@code .tar}: each installs,
 * upgrades and is removed on real nodes (local transport, real tar), and each of the plan's steps
 * on a node is one command: query, install (unpack from the verified artifact, lifecycle script,
 * switch {@code current}) and health check are three round trips, not seven.
 */
class BundleArchivesTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"tar.gz", "tar.zst", "tar"})
    void eachArchiveInstallsUpgradesAndRemovesWithOneCommandPerStep(String archive) throws Exception {
        if (archive.equals("tar.zst")) {
            Requirements.tool("zstd", "to unpack .tar.zst bundles on the node (GNU tar --zstd runs it)");
        }
        CountingTransport transport = new CountingTransport(LocalTransport.create());
        try (DeployKit kit = DeployKit.builder().transport(transport).artifactDir(tmp.resolve("artifacts")).build()) {
            for (String id : List.of("n1", "n2")) {
                kit.servers().register(Server.of(id, Binding.local(tmp.resolve(id)), Map.of()));
            }
            byte[] payload = new byte[1 << 20];
            new Random(7).nextBytes(payload);
            Package v1 = kit.packages().publish(bundle("1.0", payload).writeTo(tmp.resolve("app-1.0." + archive)));
            assertEquals(archive, v1.metadata().fields().get("archive"));

            Deployment install = run(kit, DeployPlan.builder().action(Action.install("app", "1.0")).targetAll().build());
            assertEquals(DeploymentStatus.SUCCEEDED, install.status(), () -> install.tasks().toString());
            for (String id : List.of("n1", "n2")) {
                Path dir = tmp.resolve(id).resolve("var/lib/deploykit/bundles/app/1.0");
                assertArrayEquals(payload, Files.readAllBytes(dir.resolve("payload.bin")), id);
                assertEquals("1.0", Files.readSymbolicLink(dir.resolveSibling("current")).toString(), id);
                assertEquals(List.of("install 1.0"), Files.readAllLines(tmp.resolve(id).resolve("history")), id);
                // query, install, health check
                assertEquals(3, transport.commands(id), id + " ran " + transport.commands(id) + " commands");
            }

            payload[0] ^= 1;
            kit.packages().publish(bundle("2.0", payload).writeTo(tmp.resolve("app-2.0." + archive)));
            transport.reset();
            assertEquals(DeploymentStatus.SUCCEEDED,
                    run(kit, DeployPlan.builder().action(Action.install("app", "2.0")).targetAll().build()).status());
            for (String id : List.of("n1", "n2")) {
                Path home = tmp.resolve(id).resolve("var/lib/deploykit/bundles/app");
                assertArrayEquals(payload, Files.readAllBytes(home.resolve("2.0/payload.bin")), id);
                assertEquals("2.0", Files.readSymbolicLink(home.resolve("current")).toString(), id);
                assertEquals(List.of("install 1.0", "upgrade 2.0"), Files.readAllLines(tmp.resolve(id).resolve("history")), id);
                assertEquals(3, transport.commands(id), id);
            }

            transport.reset();
            assertEquals(DeploymentStatus.SUCCEEDED,
                    run(kit, DeployPlan.builder().action(Action.remove("app")).targetAll().build()).status());
            for (String id : List.of("n1", "n2")) {
                assertFalse(Files.exists(tmp.resolve(id).resolve("var/lib/deploykit/bundles/app")), id);
                assertEquals(List.of("install 1.0", "upgrade 2.0", "remove 2.0"), Files.readAllLines(tmp.resolve(id).resolve("history")), id);
                // query, remove script and delete
                assertEquals(2, transport.commands(id), id);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tar.gz", "tar.zst", "tar"})
    void aFailingInstallScriptFailsTheNodeWithItsOutputAndLeavesCurrentAlone(String archive) throws Exception {
        if (archive.equals("tar.zst")) {
            Requirements.tool("zstd", "to unpack .tar.zst bundles on the node (GNU tar --zstd runs it)");
        }
        try (DeployKit kit = DeployKit.builder().transport(LocalTransport.create()).artifactDir(tmp.resolve("artifacts")).build()) {
            kit.servers().register(Server.of("n1", Binding.local(tmp.resolve("n1")), Map.of()));
            kit.packages().publish(ScriptBundle.builder("app", "1.0").script("install", "echo 'no disk for app' >&2; exit 3")
                    .writeTo(tmp.resolve("app-1.0." + archive)));
            Deployment d = run(kit, DeployPlan.builder().action(Action.install("app", "1.0")).targetAll().build());
            assertEquals(DeploymentStatus.FAILED, d.status());
            String message = d.tasks().get(0).message();
            assertTrue(message.contains("exited 3") && message.contains("no disk for app"), message);
            assertFalse(Files.exists(tmp.resolve("n1/var/lib/deploykit/bundles/app/current")));
        }
    }

    private static ScriptBundle bundle(String version, byte[] payload) {
        String record = "echo \"$DEPLOYKIT_PHASE $DEPLOYKIT_VERSION\" >> \"$DEPLOYKIT_ROOT/history\"; test -f payload.bin";
        return ScriptBundle.builder("app", version).script("install", record).script("upgrade", record).script("remove", record)
                .script("health", "test -f \"$DEPLOYKIT_BUNDLE_DIR/payload.bin\"").file("payload.bin", payload);
    }

    private static Deployment run(DeployKit kit, DeployPlan plan) throws InterruptedException {
        Deployment d = kit.start(plan);
        assertTrue(d.await(Duration.ofMinutes(1)).isTerminal(), "deployment did not finish");
        return d;
    }

    /** The local transport, counting the commands each node runs. */
    private static final class CountingTransport implements Transport {
        private final Transport delegate;
        private final Map<String, AtomicInteger> commands = new ConcurrentHashMap<>();

        CountingTransport(Transport delegate) {
            this.delegate = delegate;
        }

        int commands(String serverId) {
            return commands.getOrDefault(serverId, new AtomicInteger()).get();
        }

        void reset() {
            commands.clear();
        }

        @Override
        public String scheme() {
            return delegate.scheme();
        }

        @Override
        public NodeSession open(Server server) {
            NodeSession session = delegate.open(server);
            AtomicInteger count = commands.computeIfAbsent(server.id(), id -> new AtomicInteger());
            return new NodeSession() {
                @Override
                public Facts facts() {
                    return session.facts();
                }

                @Override
                public String root() {
                    return session.root();
                }

                @Override
                public String ensureArtifact(Artifact artifact, ArtifactStore source) {
                    return session.ensureArtifact(artifact, source);
                }

                @Override
                public ExecResult exec(Command command, OutputListener output) {
                    count.incrementAndGet();
                    return session.exec(command, output);
                }

                @Override
                public void close() {
                    session.close();
                }
            };
        }
    }
}
