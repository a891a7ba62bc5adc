//! The one conformance suite every [`Store`] implementation must pass.
//!
//! An implementation provides a [`TestDisk`] (a place its data lives, reopenable to simulate a
//! restart) and instantiates the suite with [`store_suite!`](crate::store_suite):
//!
//! ```ignore
//! mod memory {
//!     apiserver_store::store_suite!(apiserver_store::testing::MemoryDisk::new());
//! }
//! ```

pub mod suite;

use std::time::Duration;

use futures::StreamExt;
use tempfile::TempDir;

use crate::{Backend, MemoryBackend, MvccStore, RocksBackend, Store, StoreOptions, WatchItem, WatchStream};

/// Where a store's data lives across opens. Opening twice on one disk is a restart.
pub trait TestDisk: Send + Sync + 'static {
    /// The store implementation under test.
    type Store: Store + Clone;
    /// Opens a store on this disk; the previous store must have been dropped.
    fn open(&self, options: StoreOptions) -> Self::Store;
    /// With the store closed, leaves the disk as a crash in the middle of a compaction to
    /// `revision` would: intent recorded (with the revision `floor`), only `removed` deleted.
    fn interrupt_compaction(&self, revision: u64, floor: u64, removed: &[u64]);
}

/// A disk for [`crate::MemoryStore`]: the memory backend survives "restarts".
#[derive(Debug, Default)]
pub struct MemoryDisk(MemoryBackend);

impl MemoryDisk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }
}

impl TestDisk for MemoryDisk {
    type Store = MvccStore<MemoryBackend>;

    fn open(&self, options: StoreOptions) -> Self::Store {
        MvccStore::open(self.0.clone(), options).expect("memory store opens")
    }

    fn interrupt_compaction(&self, revision: u64, floor: u64, removed: &[u64]) {
        self.0.begin_compaction(revision, floor).expect("memory backend");
        self.0.remove(removed).expect("memory backend");
    }
}

/// A disk for [`crate::RocksStore`]: a temporary directory.
#[derive(Debug)]
pub struct RocksDisk(TempDir);

impl RocksDisk {
    /// A new empty directory.
    pub fn new() -> Self {
        Self(tempfile::tempdir().expect("temporary directory"))
    }
}

impl Default for RocksDisk {
    fn default() -> Self {
        Self::new()
    }
}

impl TestDisk for RocksDisk {
    type Store = MvccStore<RocksBackend>;

    fn open(&self, options: StoreOptions) -> Self::Store {
        MvccStore::open_rocks(self.0.path(), options).expect("rocks store opens")
    }

    fn interrupt_compaction(&self, revision: u64, floor: u64, removed: &[u64]) {
        let backend = RocksBackend::open(self.0.path()).expect("rocks backend opens");
        backend.begin_compaction(revision, floor).expect("rocks backend");
        backend.remove(removed).expect("rocks backend");
    }
}

/// Options for tests: no background compaction, fast progress notifications.
pub fn test_options() -> StoreOptions {
    StoreOptions {
        history_window: Duration::from_secs(3600),
        compaction_check: Duration::from_secs(3600),
        progress_interval: Duration::from_millis(100),
        ..StoreOptions::default()
    }
}

/// The next item of a watch, failing the test after 10 s.
pub async fn next_item(stream: &mut WatchStream) -> Option<crate::Result<WatchItem>> {
    tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("watch item within 10 s")
}

/// The next event of a watch (skipping progress notifications), failing the test on an error.
pub async fn next_event(stream: &mut WatchStream) -> std::sync::Arc<crate::Event> {
    loop {
        match next_item(stream).await {
            Some(Ok(WatchItem::Event(event))) => return event,
            Some(Ok(WatchItem::Progress { .. })) => continue,
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

/// Instantiates the shared suite for one [`TestDisk`] expression, one `#[tokio::test]` each.
#[macro_export]
macro_rules! store_suite {
    ($disk:expr) => {
        $crate::store_suite!(@tests $disk;
            create_get_update_delete_track_revisions,
            preconditions_fail_with_typed_errors,
            failed_writes_consume_no_revision,
            unconditional_put_and_delete,
            get_at_past_current_and_future_revisions,
            list_by_prefix_at_revision_and_count,
            pagination_is_one_snapshot_while_writes_continue,
            oversized_values_and_bad_keys_are_rejected_without_damage,
            concurrent_writers_get_dense_unique_revisions,
            watch_from_past_revision_replays_history_with_prev_values,
            watch_from_current_revision_sees_only_new_changes,
            watch_from_future_revision_starts_there,
            watch_from_future_revision_gets_no_early_progress,
            watch_exact_key_and_prefix,
            watch_catch_up_hands_over_to_live_without_gap_or_duplicate,
            watch_resumed_after_reconnect_has_no_duplicates,
            progress_notifications_bookmark_idle_watchers,
            progress_notification_never_overtakes_events,
            slow_watcher_is_ended_and_never_slows_writers,
            compaction_boundaries_for_reads_and_watches,
            watch_cannot_start_at_compacted_revision_and_miss_a_delete,
            prev_values_survive_compaction,
            background_compaction_keeps_the_window,
            restart_keeps_data_and_revision,
            revision_never_goes_backwards_after_compacting_newest_tombstone,
            interrupted_compaction_is_finished_on_open,
            crash_while_compacting_newest_tombstone_keeps_revision,
            watch_events_match_history_prev_values_and_creates,
            watch_resumes_after_restart_from_its_revision,
            watch_ends_with_closed_when_the_store_is_dropped,
            extreme_options_are_clamped_not_fatal,
        );
    };
    (@tests $disk:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let disk = $disk;
                $crate::testing::suite::$name(&disk).await;
            }
        )*
    };
}
