package dev.deploykit.source.vcs;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.deploykit.Requirements;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * Git's own smart HTTP server, {@code git http-backend} (Debian package git), run as a CGI program
 * behind the JDK's HTTP server on 127.0.0.1 with HTTP basic authentication: requests without the
 * right user and password get 401, the rest are handed to git http-backend as git's documentation
 * shows for Apache.
 */
final class GitHttpServer implements AutoCloseable {
    private final HttpServer server;
    private final Path backend;
    private final Path base;
    private final String expected;

    GitHttpServer(Path base, String user, String password) throws IOException, InterruptedException {
        Path git = Requirements.tool("git", "to serve test repositories over HTTP with git http-backend (Debian package git)");
        this.backend = Path.of(Run.in(base, git.toString(), "--exec-path").trim(), "git-http-backend");
        this.base = base;
        this.expected = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
    }

    String url(String repo) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + repo;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!expected.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"git\"");
                exchange.sendResponseHeaders(401, -1);
                return;
            }
            ProcessBuilder pb = new ProcessBuilder(backend.toString());
            Map<String, String> env = pb.environment();
            env.put("GIT_PROJECT_ROOT", base.toString());
            env.put("GIT_HTTP_EXPORT_ALL", "1");
            env.put("REQUEST_METHOD", exchange.getRequestMethod());
            env.put("PATH_INFO", exchange.getRequestURI().getPath());
            env.put("QUERY_STRING", exchange.getRequestURI().getRawQuery() == null ? "" : exchange.getRequestURI().getRawQuery());
            env.put("REMOTE_USER", "alice");
            env.put("REMOTE_ADDR", "127.0.0.1");
            String type = exchange.getRequestHeaders().getFirst("Content-Type");
            if (type != null) {
                env.put("CONTENT_TYPE", type);
            }
            for (String header : new String[] {"Content-Encoding", "Git-Protocol"}) {
                String value = exchange.getRequestHeaders().getFirst(header);
                if (value != null) {
                    env.put("HTTP_" + header.toUpperCase(java.util.Locale.ROOT).replace('-', '_'), value);
                }
            }
            Process p = pb.redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try (InputStream body = exchange.getRequestBody(); OutputStream in = p.getOutputStream()) {
                body.transferTo(in);
            }
            InputStream cgi = p.getInputStream();
            int status = 200;
            for (String line = readLine(cgi); !line.isEmpty(); line = readLine(cgi)) {
                int colon = line.indexOf(':');
                String name = line.substring(0, colon).trim();
                String value = line.substring(colon + 1).trim();
                if (name.equalsIgnoreCase("Status")) {
                    status = Integer.parseInt(value.split(" ")[0]);
                } else {
                    exchange.getResponseHeaders().add(name, value);
                }
            }
            exchange.sendResponseHeaders(status, 0);
            try (OutputStream out = exchange.getResponseBody()) {
                cgi.transferTo(out);
            }
            p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One CGI header line, without its CR LF or LF. */
    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b = in.read(); b != -1 && b != '\n'; b = in.read()) {
            if (b != '\r') {
                line.write(b);
            }
        }
        return line.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
