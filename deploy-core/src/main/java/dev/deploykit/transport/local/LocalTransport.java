package dev.deploykit.transport.local;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.Facts;
import dev.deploykit.Server;
import dev.deploykit.TransportException;
import dev.deploykit.spi.ArtifactDelivery;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import dev.deploykit.spi.Transport;
import dev.deploykit.spi.support.ProcessRunner;
import dev.deploykit.spi.support.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Runs nodes on this machine: each server bound with {@link dev.deploykit.Binding#local(Path)} is
 * a directory that acts as the node's filesystem root, so many simulated nodes share one host.
 * Commands run as local processes (argv lists, own process group); artifacts are cached under
 * {@code <root>/var/cache/deploykit/sha256/<hex>} and verified by SHA-256.
 *
 * <p>Used by the quickstart, by tests, and for deploying to the controller's own host. Thread-safe.
 *
 * <pre>{@code
 * DeployKit kit = DeployKit.builder().transport(LocalTransport.create()).build();
 * kit.servers().register(Server.of("node-1", Binding.local(Path.of("/tmp/node-1")), Map.of()));
 * }</pre>
 */
public final class LocalTransport implements Transport {
    static final String CACHE = "/var/cache/deploykit/sha256";

    private LocalTransport() {}

    public static LocalTransport create() {
        return new LocalTransport();
    }

    @Override
    public String scheme() {
        return "local";
    }

    @Override
    public NodeSession open(Server server) {
        Path root = Path.of(server.binding().require("root"));
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new TransportException(server.id(), "cannot create node root " + root + ": " + e.getMessage(), e, false);
        }
        return new LocalSession(server.id(), root);
    }

    private static final class LocalSession implements NodeSession {
        private final String serverId;
        private final Path root;

        LocalSession(String serverId, Path root) {
            this.serverId = serverId;
            this.root = root;
        }

        @Override
        public Facts facts() {
            return Facts.ofLocalRoot(root);
        }

        @Override
        public String root() {
            return root.toString();
        }

        @Override
        public String ensureArtifact(Artifact artifact, ArtifactStore source) {
            return deliver(artifact, source).path();
        }

        /** Copied from the store; {@code controllerBytes} is what was copied (0: the cache had it). */
        @Override
        public ArtifactDelivery deliver(Artifact artifact, ArtifactStore source) {
            Path dir = root.resolve(CACHE.substring(1));
            Path target = dir.resolve(artifact.sha256());
            Path partial = dir.resolve(artifact.sha256() + ".partial");
            try {
                Files.createDirectories(dir);
                if (Files.isRegularFile(target) && Sha256.of(target).equals(artifact.sha256())) {
                    return new ArtifactDelivery(target.toString(), null, 0, Map.of(), List.of());
                }
                // Resume after an interrupted copy: append from the partial file's length.
                long have = Files.exists(partial) ? Files.size(partial) : 0;
                if (have > artifact.size()) {
                    Files.delete(partial);
                    have = 0;
                }
                long copied;
                try (InputStream in = source.open(artifact.sha256(), have);
                        OutputStream out = Files.newOutputStream(partial, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
                    copied = in.transferTo(out);
                }
                String actual = Sha256.of(partial);
                if (!actual.equals(artifact.sha256())) {
                    Files.delete(partial);
                    throw new TransportException(serverId, "artifact digest mismatch: expected " + artifact.sha256()
                            + ", got " + actual, null, true);
                }
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return new ArtifactDelivery(target.toString(), null, copied, Map.of(), List.of());
            } catch (IOException e) {
                throw new TransportException(serverId, "cannot place artifact " + artifact.sha256() + ": " + e.getMessage(), e, true);
            }
        }

        @Override
        public ExecResult exec(Command command, OutputListener output) {
            try {
                return ProcessRunner.run(command, root, output);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TransportException(serverId, "cancelled: " + command.argv().get(0), e, false);
            } catch (IOException e) {
                throw new TransportException(serverId, "cannot run " + command.argv().get(0) + ": " + e.getMessage(), e, false);
            }
        }

        @Override
        public void close() {
            // nothing held between calls
        }
    }
}
