package dev.deploykit.internal;

import dev.deploykit.Artifact;
import dev.deploykit.Command;
import dev.deploykit.Facts;
import dev.deploykit.spi.ArtifactDelivery;
import dev.deploykit.spi.ArtifactStore;
import dev.deploykit.spi.ExecResult;
import dev.deploykit.spi.NodeSession;
import dev.deploykit.spi.OutputListener;
import java.time.Clock;
import java.util.function.BiConsumer;

/**
 * A session that notes contact with its node whenever the node answered (facts, an artifact in
 * place, a command's result, whatever its exit code), which is what {@link dev.deploykit.Server#lastSeen()}
 * means for nodes without heartbeats (SSH, local). Calls that throw note nothing. Delegates
 * everything; the opener closes it, which closes the session it wraps.
 */
final class ContactSession implements NodeSession {
    private final NodeSession session;
    private final String serverId;
    private final Clock clock;
    private final BiConsumer<String, java.time.Instant> contact;

    ContactSession(NodeSession session, String serverId, Clock clock, BiConsumer<String, java.time.Instant> contact) {
        this.session = session;
        this.serverId = serverId;
        this.clock = clock;
        this.contact = contact;
    }

    private <T> T answered(T answer) {
        contact.accept(serverId, clock.instant());
        return answer;
    }

    @Override
    public Facts facts() {
        return answered(session.facts());
    }

    @Override
    public String root() {
        return session.root();
    }

    @Override
    public String ensureArtifact(Artifact artifact, ArtifactStore source) {
        return answered(session.ensureArtifact(artifact, source));
    }

    @Override
    public ArtifactDelivery deliver(Artifact artifact, ArtifactStore source) {
        return answered(session.deliver(artifact, source));
    }

    @Override
    public ExecResult exec(Command command, OutputListener output) {
        return answered(session.exec(command, output));
    }

    @Override
    public ExecResult exec(String key, Command command, OutputListener output) {
        return answered(session.exec(key, command, output));
    }

    @Override
    public void fence(String scope, long epoch) {
        session.fence(scope, epoch);
    }

    @Override
    public void abandon() {
        session.abandon();
    }

    @Override
    public void close() {
        session.close();
    }
}
