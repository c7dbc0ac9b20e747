package dev.deploykit.benchmarks;

import dev.deploykit.spi.support.Sha256;
import dev.deploykit.transport.grpc.AgentCa;
import dev.deploykit.transport.grpc.proto.AgentMessage;
import dev.deploykit.transport.grpc.proto.AgentServiceGrpc;
import dev.deploykit.transport.grpc.proto.ArtifactChunk;
import dev.deploykit.transport.grpc.proto.ControllerMessage;
import dev.deploykit.transport.grpc.proto.FetchArtifactRequest;
import dev.deploykit.transport.grpc.proto.Hello;
import dev.deploykit.transport.grpc.proto.RunTask;
import dev.deploykit.transport.grpc.proto.TaskResult;
import com.google.protobuf.ByteOutput;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Many simulated agents in one JVM, for load benchmarks: each has its own TLS connection and Connect
 * stream, says Hello, answers exec tasks at once with exit 0 (a no-op), and pulls artifacts through
 * FetchArtifact, hashing them as a real agent does but keeping nothing on disk.
 *
 * <p>Each has its own certificate, issued at start by the test CA ({@code --ca-key}) as enrollment would,
 * since the gateway takes an agent's id from its certificate.
 *
 * <p>Args: {@code --controller HOST:PORT --count N --prefix sim --ca F --ca-key F --token T}.
 */
public final class SimAgents {
    public static void main(String[] args) throws Exception {
        String[] hostPort = SshBenchmark.stringArg(args, "--controller", "127.0.0.1:7443").split(":");
        int count = SshBenchmark.intArg(args, "--count", 1000);
        String prefix = SshBenchmark.stringArg(args, "--prefix", "sim");
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + SshBenchmark.stringArg(args, "--token", ""));
        File caFile = new File(SshBenchmark.stringArg(args, "--ca", ""));
        AgentCa ca = AgentCa.load(caFile.toPath(), Path.of(SshBenchmark.stringArg(args, "--ca-key", "")));
        KeyPairGenerator keys = KeyPairGenerator.getInstance("EC");
        keys.initialize(new ECGenParameterSpec("secp256r1"));
        ExecutorService fetchers = Executors.newFixedThreadPool(32);
        List<ManagedChannel> channels = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String id = prefix + "-" + i;
            KeyPair key = keys.generateKeyPair();
            TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder().trustManager(caFile)
                    .keyManager(new ByteArrayInputStream(AgentCa.pem(ca.issue(id, key.getPublic())).getBytes(StandardCharsets.US_ASCII)),
                            new ByteArrayInputStream(AgentCa.pem(key.getPrivate()).getBytes(StandardCharsets.US_ASCII)));
            ManagedChannel channel = NettyChannelBuilder.forAddress(hostPort[0], Integer.parseInt(hostPort[1]), tls.build())
                    .maxInboundMessageSize(4 * 1024 * 1024).flowControlWindow(8 * 1024 * 1024).build();
            channels.add(channel);
            var stub = AgentServiceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
            var blocking = AgentServiceGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
            Object lock = new Object();
            StreamObserver<AgentMessage>[] out = new StreamObserver[1];
            out[0] = stub.connect(new StreamObserver<>() {
                @Override
                public void onNext(ControllerMessage message) {
                    if (message.hasRun()) {
                        RunTask task = message.getRun();
                        if (task.hasExec()) {
                            reply(TaskResult.newBuilder().setTaskId(task.getTaskId()).setExitCode(0).build());
                        } else if (task.hasEnsureArtifact()) {
                            fetchers.submit(() -> reply(fetch(blocking, task)));
                        }
                    }
                }

                private void reply(TaskResult result) {
                    synchronized (lock) {
                        out[0].onNext(AgentMessage.newBuilder().setResult(result).build());
                    }
                }

                @Override
                public void onError(Throwable t) {
                    System.err.println(id + ": " + t);
                }

                @Override
                public void onCompleted() {}
            });
            synchronized (lock) {
                out[0].onNext(AgentMessage.newBuilder().setHello(Hello.newBuilder().setAgentId(id).setHostname(id)
                        .setOsRelease("ID=debian\nVERSION_ID=12\n").setArch("x86_64").putLabels("sim", "true")).build());
            }
        }
        System.out.println("started " + count + " simulated agents");
        Thread.currentThread().join();
        channels.forEach(ManagedChannel::shutdownNow);
    }

    private static TaskResult fetch(AgentServiceGrpc.AgentServiceBlockingStub stub, RunTask task) {
        String sha = task.getEnsureArtifact().getSha256();
        MessageDigest digest = Sha256.newDigest();
        Iterator<ArtifactChunk> chunks = stub.fetchArtifact(FetchArtifactRequest.newBuilder().setSha256(sha).build());
        ByteOutput hash = new ByteOutput() { // as the agent does: straight from the chunk's array
            @Override
            public void write(byte value) {
                digest.update(value);
            }

            @Override
            public void write(byte[] value, int offset, int length) {
                digest.update(value, offset, length);
            }

            @Override
            public void writeLazy(byte[] value, int offset, int length) {
                digest.update(value, offset, length);
            }

            @Override
            public void write(ByteBuffer value) {
                digest.update(value);
            }

            @Override
            public void writeLazy(ByteBuffer value) {
                digest.update(value);
            }
        };
        try {
            while (chunks.hasNext()) {
                UnsafeByteOperations.unsafeWriteTo(chunks.next().getData(), hash);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        String actual = Sha256.hex(digest);
        TaskResult.Builder r = TaskResult.newBuilder().setTaskId(task.getTaskId()).setArtifactPath("/sim/" + actual);
        if (!actual.equals(sha)) {
            r.setError("digest mismatch: " + actual);
        }
        return r.build();
    }
}
