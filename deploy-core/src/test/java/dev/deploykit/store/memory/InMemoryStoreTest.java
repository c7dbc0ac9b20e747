package dev.deploykit.store.memory;

import dev.deploykit.spi.Store;
import dev.deploykit.spi.StoreContract;

class InMemoryStoreTest extends StoreContract {
    @Override
    protected Store newStore() {
        return new InMemoryStore();
    }
}
