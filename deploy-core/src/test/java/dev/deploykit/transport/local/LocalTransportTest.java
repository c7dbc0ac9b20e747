package dev.deploykit.transport.local;

import dev.deploykit.Binding;
import dev.deploykit.Server;
import dev.deploykit.spi.Transport;
import dev.deploykit.spi.TransportContract;
import java.util.Map;

class LocalTransportTest extends TransportContract {
    @Override
    protected Transport transport() {
        return LocalTransport.create();
    }

    @Override
    protected Server server() {
        return Server.of("node-1", Binding.local(tmp.resolve("node-1")), Map.of());
    }
}
