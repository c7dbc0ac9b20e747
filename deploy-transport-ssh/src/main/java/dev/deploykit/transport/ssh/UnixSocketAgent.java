package dev.deploykit.transport.ssh;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import org.apache.sshd.agent.SshAgent;
import org.apache.sshd.agent.SshAgentFactory;
import org.apache.sshd.agent.SshAgentServer;
import org.apache.sshd.agent.common.AbstractAgentProxy;
import org.apache.sshd.common.FactoryManager;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.session.ConnectionService;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;

/**
 * An ssh-agent client over the agent's Unix domain socket, with the JDK's own socket channels
 * (JEP 380): MINA's built-in client needs Tomcat's native APR library. MINA speaks the agent
 * protocol ({@link AbstractAgentProxy}); this class only carries its length-prefixed messages.
 * Private keys never enter this process: the agent signs.
 */
final class UnixSocketAgent extends AbstractAgentProxy {
    private static final int MAX_MESSAGE = 256 * 1024;
    private final Path socket;
    private final SocketChannel channel;

    UnixSocketAgent(Path socket) throws IOException {
        super(null);
        this.socket = socket;
        this.channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot connect to the ssh-agent at " + socket + ": " + e.getMessage(), e);
        }
    }

    /** {@code message} already carries its length prefix (see {@link AbstractAgentProxy#prepare}). */
    @Override
    protected synchronized Buffer request(Buffer message) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(message.array(), message.rpos(), message.available());
        while (out.hasRemaining()) {
            channel.write(out);
        }
        ByteBuffer length = ByteBuffer.allocate(4);
        readFully(length);
        int size = length.flip().getInt();
        if (size <= 0 || size > MAX_MESSAGE) {
            throw new IOException("the ssh-agent at " + socket + " sent a message of " + size + " bytes");
        }
        ByteBuffer payload = ByteBuffer.allocate(size);
        readFully(payload);
        return new ByteArrayBuffer(payload.array());
    }

    private void readFully(ByteBuffer into) throws IOException {
        while (into.hasRemaining()) {
            if (channel.read(into) < 0) {
                throw new EOFException("the ssh-agent at " + socket + " closed the connection");
            }
        }
    }

    @Override
    public boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() throws IOException {
        channel.close();
        super.close();
    }

    /** Gives each SSH session its own agent connection; forwarding the agent to nodes is not offered. */
    static SshAgentFactory factory(Path socket) {
        return new SshAgentFactory() {
            @Override
            public List<ChannelFactory> getChannelForwardingFactories(FactoryManager manager) {
                return List.of();
            }

            @Override
            public SshAgent createClient(Session session, FactoryManager manager) throws IOException {
                return new UnixSocketAgent(socket);
            }

            @Override
            public SshAgentServer createServer(ConnectionService service) {
                throw new UnsupportedOperationException("DeployKit does not forward the ssh-agent to nodes");
            }
        };
    }
}
