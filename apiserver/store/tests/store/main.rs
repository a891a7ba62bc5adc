//! The store's one integration-test binary: the shared suite on every backend, and crash safety.

mod crash;

/// The shared suite on the in-memory backend.
mod suite_memory {
    apiserver_store::store_suite!(apiserver_store::testing::MemoryDisk::new());
}

/// The shared suite on RocksDB.
mod suite_rocks {
    apiserver_store::store_suite!(apiserver_store::testing::RocksDisk::new());
}
