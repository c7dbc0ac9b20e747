package dev.deploykit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deploykit.Requirements;
import dev.deploykit.agent.AgentFixtures;
import java.io.RandomAccessFile;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A package upload larger than the server's whole heap streams to disk and is published. */
class UploadTest {
    private static final long SIZE = 1L << 30;
    @TempDir
    Path dir;

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aOneGibPackageIsPublishedByAServerWithA128MibHeap() throws Exception {
        Path dpkgDeb = Requirements.tool("dpkg-deb", "to build a real .deb");
        Path tree = Files.createDirectories(dir.resolve("tree"));
        Files.createDirectories(tree.resolve("DEBIAN"));
        Files.writeString(tree.resolve("DEBIAN/control"), "Package: big-app\nVersion: 1.0-1\nArchitecture: all\n"
                + "Maintainer: DeployKit tests <tests@deploykit.dev>\nDescription: a large package\n");
        Path payload = Files.createDirectories(tree.resolve("opt/big-app")).resolve("blob");
        try (RandomAccessFile f = new RandomAccessFile(payload.toFile(), "rw")) {
            f.setLength(SIZE); // zeros: the size is what matters here
        }
        Path deb = dir.resolve("big-app_1.0-1_all.deb");
        Process build = new ProcessBuilder(dpkgDeb.toString(), "--root-owner-group", "-Znone", "--build", tree.toString(), deb.toString())
                .redirectErrorStream(true).start();
        String buildLog = new String(build.getInputStream().readAllBytes());
        assertEquals(0, build.waitFor(), buildLog);
        Files.delete(payload);

        AgentFixtures.Pki pki = AgentFixtures.pki(dir);
        try (ServerFixtures.ServerProcess server = new ServerFixtures.ServerProcess(dir, "server", ServerFixtures.config(dir, pki,
                "{memory: true}", "solo"), "-Xmx128m")) {
            ServerFixtures.Api api = ServerFixtures.Api.of(pki, server.apiPort);
            HttpRequest upload = HttpRequest.newBuilder(java.net.URI.create(api.base() + "/packages?filename=" + deb.getFileName()))
                    .header("Authorization", "Bearer " + ServerFixtures.DEPLOYER).timeout(java.time.Duration.ofMinutes(10))
                    .POST(HttpRequest.BodyPublishers.ofFile(deb)).build();
            HttpResponse<String> r = api.http().send(upload, HttpResponse.BodyHandlers.ofString());
            assertEquals(201, r.statusCode(), r.body() + "\n" + server.text());
            assertEquals(Files.size(deb), api.json(r).get("size").asLong());
            assertEquals("big-app", api.json(r).get("name").asText());
            try (var stored = Files.walk(dir.resolve("artifacts-solo"))) {
                assertEquals(List.of(Files.size(deb)), stored.filter(Files::isRegularFile).map(UploadTest::size).toList(),
                        "one copy, in the artifact store; nothing left in staging");
            }
        }
    }
}
