package dev.deploykit.store.postgres;

import dev.deploykit.spi.Store;
import dev.deploykit.spi.StoreContract;
import org.junit.jupiter.api.AfterAll;

/** The store contract on PostgreSQL, each test in a schema of its own. */
class PostgresStoreTest extends StoreContract {
    @Override
    protected Store newStore() {
        return PostgresFixture.freshStore().build();
    }

    @AfterAll
    static void dropSchemas() throws Exception {
        PostgresFixture.dropTestSchemas();
    }
}
