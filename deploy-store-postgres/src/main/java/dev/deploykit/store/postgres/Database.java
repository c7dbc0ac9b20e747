package dev.deploykit.store.postgres;

import dev.deploykit.StoreException;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.github.resilience4j.core.IntervalFunction;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection side of {@link PostgresStore}: the Hikari pool (in the store's schema, if it has
 * one), the Flyway migrations applied when it is opened, and the wrapper every call goes through,
 * which retries connection-level failures with exponential backoff until the retry window closes.
 *
 * <p>{@link PostgresStore#close} closes it, which closes the pool. Thread-safe: the pool and JDBI
 * are, and each call gets a handle of its own.
 */
final class Database implements AutoCloseable {
    // Under the store's name, so that logging configured for PostgresStore keeps covering the retries.
    private static final Logger log = LoggerFactory.getLogger(PostgresStore.class);

    private final HikariDataSource pool;
    private final Jdbi jdbi;
    private final Duration retryDeadline;
    private final AtomicLong retries = new AtomicLong();
    private final IntervalFunction backoff = IntervalFunction.ofExponentialBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(5));

    /** Connects (waiting up to {@code retryFor} for the database to answer) and migrates the schema. */
    Database(String url, String user, String password, String schema, int poolSize, Duration retryFor) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(poolSize);
        config.setPoolName("deploykit");
        if (schema != null) {
            config.setSchema(schema);
        }
        config.setInitializationFailTimeout(retryFor.toMillis());
        this.pool = new HikariDataSource(config);
        Flyway.configure().dataSource(pool).locations("classpath:db/deploykit")
                .schemas(schema == null ? new String[0] : new String[] {schema}).load().migrate();
        this.jdbi = Jdbi.create(pool);
        this.retryDeadline = retryFor;
    }

    /** How many times an operation was retried because the database was unreachable. */
    long retries() {
        return retries.get();
    }

    DataSource dataSource() {
        return pool;
    }

    /** Connection-level failures that a retry may cure: SQLState class 08, 57P (shutdown), 53 (resources). */
    static boolean isTransient(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.startsWith("08") || state.startsWith("57P") || state.startsWith("53")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Runs {@code work}, retrying through database outages until the retry window closes. */
    private <T> T retrying(String what, Supplier<T> work) {
        long deadline = System.nanoTime() + retryDeadline.toNanos();
        int attempt = 0;
        while (true) {
            try {
                return work.get();
            } catch (RuntimeException e) {
                if (!isTransient(e)) {
                    throw e instanceof StoreException s ? s : new StoreException(what + ": " + e.getMessage(), e, false);
                }
                if (System.nanoTime() > deadline) {
                    throw new StoreException(what + ": the database is unreachable: " + e.getMessage(), e, true);
                }
                long wait = backoff.apply(++attempt);
                retries.incrementAndGet();
                log.warn("{}: database unavailable ({}), retrying in {} ms", what, e.getMessage(), wait);
                try {
                    Thread.sleep(wait);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new StoreException(what + ": interrupted while the database was unavailable", ie, true);
                }
            }
        }
    }

    /** {@code work} in one transaction, retried as a whole. */
    void run(String what, Consumer<Handle> work) {
        retrying(what, () -> {
            jdbi.useTransaction(work::accept);
            return null;
        });
    }

    /** {@code work} in one transaction, retried as a whole. */
    <T> T transaction(String what, Function<Handle, T> work) {
        return retrying(what, () -> jdbi.inTransaction(work::apply));
    }

    /** {@code work} on a handle in autocommit mode: for single statements, which need no begin/commit round trips. */
    <T> T query(String what, Function<Handle, T> work) {
        return retrying(what, () -> jdbi.withHandle(work::apply));
    }

    /** Closes the pool. */
    @Override
    public void close() {
        pool.close();
    }
}
