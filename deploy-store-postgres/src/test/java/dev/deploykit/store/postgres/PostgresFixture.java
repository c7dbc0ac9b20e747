package dev.deploykit.store.postgres;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * The database for tests: {@code DEPLOYKIT_TEST_PG_URL} (with {@code DEPLOYKIT_TEST_PG_USER} and
 * {@code DEPLOYKIT_TEST_PG_PASSWORD}) when set, else a Testcontainers PostgreSQL when Docker is there,
 * else the local server on 127.0.0.1:5432 (database {@code test}, user {@code postgres}). When none
 * answers the test is skipped, or fails under CI. Each store gets a schema of its own.
 */
public final class PostgresFixture {
    private static String url;
    private static String user;
    private static String password;
    private static PostgreSQLContainer<?> container;

    private PostgresFixture() {}

    static synchronized void connectOrSkip() {
        if (url != null) {
            return;
        }
        String env = System.getenv("DEPLOYKIT_TEST_PG_URL");
        if (env != null) {
            url = env;
            user = System.getenv().getOrDefault("DEPLOYKIT_TEST_PG_USER", "postgres");
            password = System.getenv().getOrDefault("DEPLOYKIT_TEST_PG_PASSWORD", "");
        } else if (dockerAvailable()) {
            container = new PostgreSQLContainer<>("postgres:16-alpine");
            container.start();
            url = container.getJdbcUrl();
            user = container.getUsername();
            password = container.getPassword();
        } else {
            url = "jdbc:postgresql://127.0.0.1:5432/test";
            user = "postgres";
            password = "";
        }
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            c.isValid(5);
        } catch (SQLException e) {
            String message = "PostgreSQL is not reachable at " + url + " (" + e.getMessage() + "); set DEPLOYKIT_TEST_PG_URL, "
                    + "start Docker, or start the local server";
            url = null;
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError(message);
            }
            Assumptions.abort(message);
        }
    }

    private static boolean dockerAvailable() {
        if (System.getenv("DOCKER_HOST") == null && !java.nio.file.Files.exists(java.nio.file.Path.of("/var/run/docker.sock"))) {
            return false;
        }
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable e) {
            return false;
        }
    }

    /** A builder for a store in a new, empty schema. */
    public static PostgresStore.Builder freshStore() {
        connectOrSkip();
        return PostgresStore.builder(url).user(user).password(password).schema(newSchema());
    }

    public static String url() {
        connectOrSkip();
        return url;
    }

    public static String user() {
        connectOrSkip();
        return user;
    }

    public static String password() {
        connectOrSkip();
        return password;
    }

    /** Schemas this JVM made: only these are dropped, so test runs sharing one database leave each other alone. */
    private static final java.util.Set<String> made = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** A new schema name for a store of its own. */
    public static String newSchema() {
        String schema = "dk_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        made.add(schema);
        return schema;
    }

    /**
     * Drops the schemas this JVM's tests made and are done with. Call only when no store of this JVM
     * is open any more (an {@code @AfterAll} of the last user). Other runs' schemas are left alone.
     */
    public static void dropTestSchemas() throws SQLException {
        if (url == null) {
            return;
        }
        try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
            for (String schema : java.util.List.copyOf(made)) {
                s.execute("drop schema if exists " + schema + " cascade");
                made.remove(schema);
            }
        }
    }
}
