//! The shared suite's tests. Each takes a [`TestDisk`] and panics on a violated guarantee.
//!
//! Tests named after etcd's robustness findings (ordering, duplicates on reconnect, events lost
//! around compaction, revision going backwards after restart) keep those bugs from appearing here.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;

use super::{TestDisk, next_event, next_item, test_options};
use crate::{
    EventKind, ListOptions, MAX_KEY_BYTES, MAX_VALUE_BYTES, Precondition, Store, StoreError, StoreOptions, WatchItem,
    WatchTarget,
};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn prefix(s: &str) -> WatchTarget {
    WatchTarget::Prefix(b(s))
}

/// Keys and values under `prefix` at `revision` (0 = current), read page by page with `limit`,
/// every page after the first at the first page's revision.
async fn list_all<S: Store>(store: &S, prefix: &str, mut revision: u64, limit: usize) -> Vec<(Bytes, Bytes)> {
    let mut out = Vec::new();
    let mut start_after = None;
    loop {
        let page = store.list(prefix.as_bytes(), ListOptions { revision, limit, start_after }).await.unwrap();
        if revision == 0 {
            revision = page.revision;
        }
        assert_eq!(page.revision, revision);
        out.extend(page.items.iter().map(|kv| (kv.key.clone(), kv.value.clone())));
        if !page.more() {
            return out;
        }
        start_after = page.items.last().map(|kv| kv.key.clone());
    }
}

pub async fn create_get_update_delete_track_revisions<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    assert_eq!(store.current_revision(), 0);
    let created = store.create(b("/a"), b("1")).await.unwrap();
    assert_eq!((created.create_revision, created.mod_revision, created.version), (1, 1, 1));
    let updated = store.update(b("/a"), b("2"), 1).await.unwrap();
    assert_eq!((updated.create_revision, updated.mod_revision, updated.version), (1, 2, 2));
    assert_eq!(store.get(b"/a", 0).await.unwrap(), updated);
    let deleted = store.delete(b("/a"), Precondition::ModRevision(2)).await.unwrap();
    assert_eq!(deleted.revision, 3);
    assert_eq!(deleted.prev, updated);
    assert_eq!(store.get(b"/a", 0).await, Err(StoreError::NotFound));
    // A new life starts over: new create revision, version 1.
    let again = store.create(b("/a"), b("3")).await.unwrap();
    assert_eq!((again.create_revision, again.mod_revision, again.version), (4, 4, 1));
    assert_eq!(store.current_revision(), 4);
}

pub async fn preconditions_fail_with_typed_errors<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let kv = store.create(b("/k"), b("v")).await.unwrap();
    assert_eq!(store.create(b("/k"), b("w")).await, Err(StoreError::AlreadyExists));
    match store.update(b("/k"), b("w"), kv.mod_revision + 7).await {
        Err(StoreError::Conflict { current }) => assert_eq!(*current, kv),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.update(b("/missing"), b("w"), 1).await, Err(StoreError::NotFound));
    assert!(matches!(store.delete(b("/k"), Precondition::ModRevision(99)).await, Err(StoreError::Conflict { .. })));
    assert_eq!(store.delete(b("/missing"), Precondition::None).await.map(|_| ()), Err(StoreError::NotFound));
    assert_eq!(store.get(b"/k", 0).await.unwrap(), kv, "failed writes change nothing");
}

pub async fn failed_writes_consume_no_revision<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    store.create(b("/k"), b("v")).await.unwrap();
    for _ in 0..5 {
        let _ = store.create(b("/k"), b("v")).await;
        let _ = store.update(b("/k"), b("v"), 100).await;
    }
    assert_eq!(store.current_revision(), 1);
    assert_eq!(store.create(b("/j"), b("v")).await.unwrap().mod_revision, 2);
}

pub async fn unconditional_put_and_delete<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let first = store.put(b("/p"), b("1"), Precondition::None).await.unwrap();
    assert_eq!(first.version, 1);
    let second = store.put(b("/p"), b("2"), Precondition::None).await.unwrap();
    assert_eq!((second.create_revision, second.version), (first.create_revision, 2));
    let deleted = store.delete(b("/p"), Precondition::None).await.unwrap();
    assert_eq!(deleted.prev.value, b("2"));
}

pub async fn get_at_past_current_and_future_revisions<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let v1 = store.create(b("/k"), b("one")).await.unwrap();
    let v2 = store.update(b("/k"), b("two"), v1.mod_revision).await.unwrap();
    let gone = store.delete(b("/k"), Precondition::None).await.unwrap();
    store.create(b("/other"), b("x")).await.unwrap();
    assert_eq!(store.get(b"/k", v1.mod_revision).await.unwrap(), v1);
    assert_eq!(store.get(b"/k", v2.mod_revision).await.unwrap(), v2);
    assert_eq!(store.get(b"/k", gone.revision).await, Err(StoreError::NotFound));
    assert_eq!(store.get(b"/k", 0).await, Err(StoreError::NotFound));
    assert_eq!(store.get(b"/other", v1.mod_revision).await, Err(StoreError::NotFound));
    assert_eq!(store.get(b"/k", 5).await, Err(StoreError::FutureRevision { requested: 5, current: 4 }));
}

pub async fn list_by_prefix_at_revision_and_count<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    for key in ["/pods/b", "/pods/a", "/pods/c", "/podsx/a", "/services/a"] {
        store.create(b(key), b(key)).await.unwrap();
    }
    let before_delete = store.current_revision();
    store.delete(b("/pods/b"), Precondition::None).await.unwrap();
    let now = list_all(&store, "/pods/", 0, 0).await;
    let keys: Vec<_> = now.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, vec![b("/pods/a"), b("/pods/c")]);
    let then = list_all(&store, "/pods/", before_delete, 0).await;
    assert_eq!(then.len(), 3);
    assert_eq!(store.count(b"/pods/").await.unwrap(), 2);
    assert_eq!(store.count(b"/").await.unwrap(), 4);
    let page = store.list(b"/pods/", ListOptions { revision: before_delete, limit: 2, start_after: None }).await;
    let page = page.unwrap();
    assert_eq!((page.items.len(), page.remaining), (2, 1));
    assert_eq!(
        store.list(b"/pods/", ListOptions { revision: 99, ..ListOptions::default() }).await,
        Err(StoreError::FutureRevision { requested: 99, current: store.current_revision() })
    );
}

pub async fn pagination_is_one_snapshot_while_writes_continue<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    for i in 0..100 {
        store.create(b(&format!("/items/{i:03}")), b("original")).await.unwrap();
    }
    let snapshot = store.current_revision();
    let expected = list_all(&store, "/items/", snapshot, 0).await;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..100 {
                match i % 3 {
                    0 => store.put(b(&format!("/items/{i:03}")), b("changed"), Precondition::None).await.map(|_| ()),
                    1 => store.delete(b(&format!("/items/{i:03}")), Precondition::None).await.map(|_| ()),
                    _ => store.create(b(&format!("/items/{i:03}x")), b("new")).await.map(|_| ()),
                }
                .unwrap();
            }
        })
    };
    let mut paged = Vec::new();
    let mut start_after = None;
    loop {
        let page = store
            .list(b"/items/", ListOptions { revision: snapshot, limit: 7, start_after: start_after.clone() })
            .await
            .unwrap();
        paged.extend(page.items.iter().map(|kv| (kv.key.clone(), kv.value.clone())));
        if !page.more() {
            break;
        }
        start_after = page.items.last().map(|kv| kv.key.clone());
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    assert_eq!(paged, expected);
    assert_eq!(paged.len(), 100);
    assert!(paged.iter().all(|(_, v)| v == "original"));
    assert_eq!(list_all(&store, "/items/", 0, 13).await, list_all(&store, "/items/", 0, 0).await);
}

pub async fn oversized_values_and_bad_keys_are_rejected_without_damage<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let kept = store.create(b("/k"), b("precious")).await.unwrap();
    let too_big = Bytes::from(vec![b'x'; MAX_VALUE_BYTES + 1]);
    assert_eq!(
        store.put(b("/k"), too_big.clone(), Precondition::None).await,
        Err(StoreError::TooLarge { size: MAX_VALUE_BYTES + 1, limit: MAX_VALUE_BYTES })
    );
    assert!(matches!(store.create(b("/big"), too_big).await, Err(StoreError::TooLarge { .. })));
    assert!(matches!(store.create(Bytes::new(), b("v")).await, Err(StoreError::InvalidKey(_))));
    let long_key = Bytes::from(vec![b'k'; MAX_KEY_BYTES + 1]);
    assert!(matches!(store.create(long_key.clone(), b("v")).await, Err(StoreError::InvalidKey(_))));
    assert!(matches!(store.get(&long_key, 0).await, Err(StoreError::InvalidKey(_))));
    assert!(matches!(store.watch(WatchTarget::Key(Bytes::new()), 0).await.err(), Some(StoreError::InvalidKey(_))));
    assert_eq!(store.current_revision(), 1);
    assert_eq!(store.get(b"/k", 0).await.unwrap(), kept);
    // The limit itself is fine, and binary keys and values round-trip.
    let at_limit = Bytes::from(vec![0u8; MAX_VALUE_BYTES]);
    let binary_key = Bytes::from_static(b"/bin/\x00\xff\x01");
    store.create(binary_key.clone(), at_limit.clone()).await.unwrap();
    assert_eq!(store.get(&binary_key, 0).await.unwrap().value, at_limit);
}

pub async fn concurrent_writers_get_dense_unique_revisions<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let tasks: Vec<_> = (0..64)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut revisions = Vec::new();
                for i in 0..20 {
                    let kv = store.create(b(&format!("/w/{w}/{i}")), b("v")).await.unwrap();
                    revisions.push(kv.mod_revision);
                }
                revisions
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        let revisions = task.await.unwrap();
        assert!(revisions.windows(2).all(|w| w[0] < w[1]), "a writer's revisions increase");
        all.extend(revisions);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=64 * 20).collect::<Vec<u64>>());
}

pub async fn watch_from_past_revision_replays_history_with_prev_values<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let a1 = store.create(b("/w/a"), b("1")).await.unwrap();
    let a2 = store.update(b("/w/a"), b("2"), a1.mod_revision).await.unwrap();
    store.create(b("/x/other"), b("-")).await.unwrap();
    let del = store.delete(b("/w/a"), Precondition::None).await.unwrap();
    let mut watch = store.watch(prefix("/w/"), 1).await.unwrap();
    let e1 = next_event(&mut watch).await;
    assert_eq!((e1.kind, &e1.kv, &e1.prev), (EventKind::Put, &a1, &None));
    let e2 = next_event(&mut watch).await;
    assert_eq!((e2.kind, &e2.kv, e2.prev.as_ref()), (EventKind::Put, &a2, Some(&a1)));
    let e3 = next_event(&mut watch).await;
    assert_eq!(e3.kind, EventKind::Delete);
    assert_eq!((e3.kv.mod_revision, e3.kv.key.clone()), (del.revision, b("/w/a")));
    assert_eq!(e3.prev.as_ref(), Some(&a2));
    // Then live.
    let a3 = store.create(b("/w/a"), b("3")).await.unwrap();
    let e4 = next_event(&mut watch).await;
    assert_eq!((&e4.kv, &e4.prev), (&a3, &None));
}

pub async fn watch_from_current_revision_sees_only_new_changes<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    store.create(b("/w/old"), b("v")).await.unwrap();
    let mut watch = store.watch(prefix("/w/"), 0).await.unwrap();
    let new = store.create(b("/w/new"), b("v")).await.unwrap();
    assert_eq!(next_event(&mut watch).await.kv, new);
}

pub async fn watch_from_future_revision_starts_there<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let mut watch = store.watch(prefix("/w/"), 3).await.unwrap();
    for i in 1..=4 {
        store.create(b(&format!("/w/{i}")), b("v")).await.unwrap();
    }
    assert_eq!(next_event(&mut watch).await.revision(), 3);
    assert_eq!(next_event(&mut watch).await.revision(), 4);
}

pub async fn watch_exact_key_and_prefix<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let mut exact = store.watch(WatchTarget::Key(b("/w/a")), 0).await.unwrap();
    let mut by_prefix = store.watch(prefix("/w/a"), 0).await.unwrap();
    store.create(b("/w/ab"), b("v")).await.unwrap();
    store.create(b("/w/b"), b("v")).await.unwrap();
    store.create(b("/w/a"), b("v")).await.unwrap();
    assert_eq!(next_event(&mut exact).await.kv.key, b("/w/a"));
    assert_eq!(next_event(&mut by_prefix).await.kv.key, b("/w/ab"));
    assert_eq!(next_event(&mut by_prefix).await.kv.key, b("/w/a"));
}

/// etcd robustness: watch events must be ordered, unique and gap-free when a watch starts in
/// the past while writes continue (history and live events meet in the middle).
pub async fn watch_catch_up_hands_over_to_live_without_gap_or_duplicate<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    for i in 0..300 {
        store.put(b(&format!("/c/{}", i % 17)), b("v"), Precondition::None).await.unwrap();
    }
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..100 {
                    store.put(b(&format!("/c/{}", (w * 100 + i) % 23)), b("v"), Precondition::None).await.unwrap();
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut watch = store.watch(prefix("/c/"), 1).await.unwrap();
    for expected in 1..=1100u64 {
        let event = next_event(&mut watch).await;
        assert_eq!(event.revision(), expected, "events must be dense and ordered");
    }
    for writer in writers {
        writer.await.unwrap();
    }
}

/// etcd robustness: a client that reconnects from its last seen revision + 1 gets no duplicate.
pub async fn watch_resumed_after_reconnect_has_no_duplicates<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let mut watch = store.watch(prefix("/r/"), 0).await.unwrap();
    let mut seen = Vec::new();
    for i in 0..10 {
        store.create(b(&format!("/r/{i}")), b("v")).await.unwrap();
    }
    for _ in 0..4 {
        seen.push(next_event(&mut watch).await.revision());
    }
    drop(watch);
    for i in 10..15 {
        store.create(b(&format!("/r/{i}")), b("v")).await.unwrap();
    }
    let mut resumed = store.watch(prefix("/r/"), seen.last().unwrap() + 1).await.unwrap();
    for _ in 0..11 {
        seen.push(next_event(&mut resumed).await.revision());
    }
    assert_eq!(seen, (1..=15).collect::<Vec<u64>>());
}

pub async fn progress_notifications_bookmark_idle_watchers<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    store.create(b("/elsewhere"), b("v")).await.unwrap();
    let mut watch = store.watch(prefix("/quiet/"), 0).await.unwrap();
    store.create(b("/elsewhere2"), b("v")).await.unwrap();
    loop {
        match next_item(&mut watch).await {
            Some(Ok(WatchItem::Progress { revision: 2 })) => break,
            Some(Ok(WatchItem::Progress { revision })) => assert!(revision <= 2),
            other => panic!("expected progress, got {other:?}"),
        }
    }
}

/// A progress notification for revision R promises every event at or below R was delivered.
pub async fn progress_notification_never_overtakes_events<D: TestDisk>(disk: &D) {
    let options = StoreOptions { progress_interval: Duration::from_millis(1), ..test_options() };
    let store = disk.open(options);
    for i in 0..200 {
        store.create(b(&format!("/p/{i}")), b("v")).await.unwrap();
    }
    let mut watch = store.watch(prefix("/p/"), 1).await.unwrap();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 200..400 {
                store.create(b(&format!("/p/{i}")), b("v")).await.unwrap();
            }
        })
    };
    let (mut last_event, mut last_progress, mut progresses) = (0, 0, 0);
    while last_event < 400 {
        match next_item(&mut watch).await {
            Some(Ok(WatchItem::Event(event))) => {
                assert!(event.revision() > last_progress, "event {} after progress {last_progress}", event.revision());
                assert_eq!(event.revision(), last_event + 1);
                last_event = event.revision();
            }
            Some(Ok(WatchItem::Progress { revision })) => {
                assert!(revision >= last_event, "progress {revision} before event {last_event}");
                last_progress = revision;
                progresses += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    writer.await.unwrap();
    tracing::debug!(progresses, "progress notifications interleaved");
}

pub async fn slow_watcher_is_ended_and_never_slows_writers<D: TestDisk>(disk: &D) {
    let options = StoreOptions { watch_buffer: 16, ..test_options() };
    let store = disk.open(options);
    let mut slow = store.watch(prefix("/s/"), 0).await.unwrap();
    let mut fast = store.watch(prefix("/s/"), 0).await.unwrap();
    // Writes go on while the slow watcher's queue is full; a watcher that keeps up (here in
    // lockstep with the writer) receives every event.
    for i in 0..200 {
        let kv = store.create(b(&format!("/s/{i}")), b("v")).await.unwrap();
        assert_eq!(next_event(&mut fast).await.kv, kv);
    }
    let mut delivered = 0;
    loop {
        match next_item(&mut slow).await {
            Some(Ok(WatchItem::Event(event))) => {
                delivered += 1;
                assert_eq!(event.revision(), delivered, "what is delivered is in order and gap-free");
            }
            Some(Ok(WatchItem::Progress { .. })) => {}
            Some(Err(StoreError::WatcherTooSlow)) => break,
            other => panic!("expected the slow watcher to be ended, got {other:?}"),
        }
    }
    assert!(delivered < 200);
    assert!(next_item(&mut slow).await.is_none(), "the stream ends after the error");
}

pub async fn compaction_boundaries_for_reads_and_watches<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    for i in 1..=10 {
        store.put(b("/k"), b(&i.to_string()), Precondition::None).await.unwrap();
    }
    assert_eq!(store.compact(11).await, Err(StoreError::FutureRevision { requested: 11, current: 10 }));
    store.compact(6).await.unwrap();
    assert_eq!(store.compacted_revision(), 6);
    assert_eq!(store.compact(6).await, Err(StoreError::Compacted { compacted: 6 }));
    assert_eq!(store.compact(3).await, Err(StoreError::Compacted { compacted: 6 }));
    assert_eq!(store.get(b"/k", 5).await, Err(StoreError::Compacted { compacted: 6 }));
    assert_eq!(store.get(b"/k", 6).await.unwrap().value, b("6"));
    assert_eq!(store.get(b"/k", 7).await.unwrap().value, b("7"));
    assert_eq!(
        store.list(b"/", ListOptions { revision: 5, ..ListOptions::default() }).await,
        Err(StoreError::Compacted { compacted: 6 })
    );
    assert_eq!(store.watch(prefix("/"), 5).await.err(), Some(StoreError::Compacted { compacted: 6 }));
    assert_eq!(store.watch(prefix("/"), 6).await.err(), Some(StoreError::Compacted { compacted: 6 }));
    let mut watch = store.watch(prefix("/"), 7).await.unwrap();
    let first = next_event(&mut watch).await;
    assert_eq!((first.revision(), first.prev.as_ref().map(|p| p.value.clone())), (7, Some(b("6"))));
    // A watch that was catching up when compaction passed it is ended with Compacted.
    let mut lagging = store.watch(prefix("/"), 8).await.unwrap();
    store.compact(9).await.unwrap();
    assert_eq!(next_item(&mut lagging).await, Some(Err(StoreError::Compacted { compacted: 9 })));
}

/// etcd robustness: a watch started at the compacted revision could miss the delete that
/// compaction removed. Here it is refused instead, and one above sees everything.
pub async fn watch_cannot_start_at_compacted_revision_and_miss_a_delete<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    store.create(b("/d/k"), b("v")).await.unwrap();
    let deleted = store.delete(b("/d/k"), Precondition::None).await.unwrap();
    store.create(b("/d/other"), b("v")).await.unwrap();
    store.compact(deleted.revision).await.unwrap();
    assert_eq!(
        store.watch(prefix("/d/"), deleted.revision).await.err(),
        Some(StoreError::Compacted { compacted: deleted.revision })
    );
    let mut watch = store.watch(prefix("/d/"), deleted.revision + 1).await.unwrap();
    assert_eq!(next_event(&mut watch).await.kv.key, b("/d/other"));
}

pub async fn prev_values_survive_compaction<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let a = store.create(b("/a"), b("a1")).await.unwrap();
    store.create(b("/b"), b("b1")).await.unwrap();
    store.compact(store.current_revision()).await.unwrap();
    store.update(b("/a"), b("a2"), a.mod_revision).await.unwrap();
    store.delete(b("/b"), Precondition::None).await.unwrap();
    let mut watch = store.watch(prefix("/"), store.compacted_revision() + 1).await.unwrap();
    let update = next_event(&mut watch).await;
    assert_eq!(update.prev.as_ref().unwrap().value, b("a1"));
    let delete = next_event(&mut watch).await;
    assert_eq!((delete.kind, delete.prev.as_ref().unwrap().value.clone()), (EventKind::Delete, b("b1")));
}

pub async fn background_compaction_keeps_the_window<D: TestDisk>(disk: &D) {
    let options = StoreOptions {
        history_window: Duration::from_millis(300),
        compaction_check: Duration::from_millis(50),
        ..test_options()
    };
    let store = disk.open(options);
    for i in 0..5 {
        store.put(b("/k"), b(&i.to_string()), Precondition::None).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.compacted_revision() < 5 {
        assert!(Instant::now() < deadline, "background compaction never reached revision 5");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Recent history is kept for the window: a write now is still readable at its revision.
    let recent = store.put(b("/k"), b("recent"), Precondition::None).await.unwrap();
    assert_eq!(store.get(b"/k", recent.mod_revision).await.unwrap(), recent);
    assert_eq!(store.get(b"/k", 0).await.unwrap().value, b("recent"));
}

pub async fn restart_keeps_data_and_revision<D: TestDisk>(disk: &D) {
    let before = {
        let store = disk.open(test_options());
        store.create(b("/a"), b("1")).await.unwrap();
        let b2 = store.create(b("/b"), b("2")).await.unwrap();
        store.update(b("/b"), b("3"), b2.mod_revision).await.unwrap();
        store.delete(b("/a"), Precondition::None).await.unwrap();
        (list_all(&store, "/", 0, 0).await, store.current_revision())
    };
    let store = disk.open(test_options());
    assert_eq!((list_all(&store, "/", 0, 0).await, store.current_revision()), before);
    assert_eq!(store.get(b"/b", 2).await.unwrap().value, b("2"), "history survives too");
    assert_eq!(store.create(b("/c"), b("4")).await.unwrap().mod_revision, before.1 + 1);
}

/// etcd robustness: the revision went backwards after a restart when compaction had removed the
/// newest revision (a tombstone).
pub async fn revision_never_goes_backwards_after_compacting_newest_tombstone<D: TestDisk>(disk: &D) {
    let last = {
        let store = disk.open(test_options());
        store.create(b("/k"), b("v")).await.unwrap();
        let deleted = store.delete(b("/k"), Precondition::None).await.unwrap();
        store.compact(deleted.revision).await.unwrap();
        deleted.revision
    };
    let store = disk.open(test_options());
    assert_eq!(store.current_revision(), last);
    assert_eq!(store.compacted_revision(), last);
    assert!(store.create(b("/k"), b("v")).await.unwrap().mod_revision > last);
}

pub async fn interrupted_compaction_is_finished_on_open<D: TestDisk>(disk: &D) {
    {
        let store = disk.open(test_options());
        for i in 1..=6 {
            store.put(b("/k"), b(&i.to_string()), Precondition::None).await.unwrap();
        }
    }
    disk.interrupt_compaction(4, 6, &[]);
    let store = disk.open(test_options());
    assert_eq!(store.compacted_revision(), 4);
    assert_eq!(store.get(b"/k", 3).await, Err(StoreError::Compacted { compacted: 4 }));
    assert_eq!(store.get(b"/k", 4).await.unwrap().value, b("4"));
    assert_eq!(store.current_revision(), 6);
    drop(store);
    let store = disk.open(test_options());
    assert_eq!((store.compacted_revision(), store.current_revision()), (4, 6));
}

/// A watcher that was following a store resumes from its last revision after a restart.
pub async fn watch_resumes_after_restart_from_its_revision<D: TestDisk>(disk: &D) {
    let seen = {
        let store = disk.open(test_options());
        let mut watch = store.watch(prefix("/"), 0).await.unwrap();
        for i in 0..5 {
            store.create(b(&format!("/{i}")), b("v")).await.unwrap();
        }
        let mut seen = BTreeMap::new();
        for _ in 0..3 {
            let event = next_event(&mut watch).await;
            seen.insert(event.revision(), event.kv.key.clone());
        }
        seen
    };
    let store = disk.open(test_options());
    store.create(b("/5"), b("v")).await.unwrap();
    let mut watch = store.watch(prefix("/"), seen.keys().last().unwrap() + 1).await.unwrap();
    let mut rest = Vec::new();
    for _ in 0..3 {
        rest.push(next_event(&mut watch).await);
    }
    assert_eq!(rest.iter().map(|e| e.revision()).collect::<Vec<_>>(), vec![4, 5, 6]);
}

/// etcd #17780: a crash while compacting a revision whose newest write is a delete removed the
/// tombstone before the compaction was marked finished, and the revision went down on restart.
pub async fn crash_while_compacting_newest_tombstone_keeps_revision<D: TestDisk>(disk: &D) {
    let deleted = {
        let store = disk.open(test_options());
        store.create(b("/k"), b("v")).await.unwrap();
        store.delete(b("/k"), Precondition::None).await.unwrap().revision
    };
    // The crash: intent durable, both revisions already deleted, "finished" never written.
    disk.interrupt_compaction(deleted, deleted, &[1, deleted]);
    let store = disk.open(test_options());
    assert_eq!(store.current_revision(), deleted);
    assert_eq!(store.compacted_revision(), deleted);
    assert_eq!(store.create(b("/k"), b("v")).await.unwrap().mod_revision, deleted + 1);
}

/// etcd #20221: a watch on a future revision must get neither events below its start nor
/// progress notifications before the store reaches it.
pub async fn watch_from_future_revision_gets_no_early_progress<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    store.create(b("/w/0"), b("v")).await.unwrap();
    let mut watch = store.watch(prefix("/w/"), 4).await.unwrap();
    store.create(b("/w/1"), b("v")).await.unwrap();
    // Several progress intervals pass with the store below the start revision.
    let early = tokio::time::timeout(Duration::from_millis(400), watch.next()).await;
    assert!(early.is_err(), "nothing may arrive before revision 4, got {early:?}");
    store.create(b("/w/2"), b("v")).await.unwrap();
    store.create(b("/w/3"), b("v")).await.unwrap();
    assert_eq!(next_event(&mut watch).await.revision(), 4);
}

/// etcd's watch validation (reliable, prev-kv, is-create): replaying a random history from
/// revision 1, every event equals the history, its prev value is the key's value at
/// revision - 1, and it is a create exactly when the key did not exist before.
pub async fn watch_events_match_history_prev_values_and_creates<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for i in 0..300 {
        let key = b(&format!("/h/{}", random(12)));
        if random(3) == 0 {
            let _ = store.delete(key, Precondition::None).await;
        } else {
            store.put(key, b(&i.to_string()), Precondition::None).await.unwrap();
        }
    }
    let current = store.current_revision();
    let mut watch = store.watch(prefix("/h/"), 1).await.unwrap();
    for revision in 1..=current {
        let event = next_event(&mut watch).await;
        assert_eq!(event.revision(), revision);
        // (Revision 0 would mean "current": nothing existed before revision 1.)
        let before = if revision == 1 { None } else { store.get(&event.kv.key, revision - 1).await.ok() };
        assert_eq!(event.prev, before, "prev value of revision {revision}");
        match event.kind {
            EventKind::Put => {
                assert_eq!(store.get(&event.kv.key, revision).await.unwrap(), event.kv);
                let is_create = event.kv.create_revision == revision;
                assert_eq!(is_create, before.is_none(), "is-create of revision {revision}");
                assert_eq!(is_create, event.kv.version == 1);
            }
            EventKind::Delete => {
                assert!(before.is_some(), "a delete of an absent key at {revision}");
                assert_eq!(store.get(&event.kv.key, revision).await, Err(StoreError::NotFound));
            }
        }
    }
}

/// A watch outliving its store ends with `Closed` (instead of hanging) and no longer holds the
/// data open: the store can be opened again while the ended stream still exists.
pub async fn watch_ends_with_closed_when_the_store_is_dropped<D: TestDisk>(disk: &D) {
    let store = disk.open(test_options());
    store.create(b("/a"), b("v")).await.unwrap();
    let mut watch = store.watch(prefix("/"), 0).await.unwrap();
    drop(store);
    loop {
        match next_item(&mut watch).await {
            Some(Ok(WatchItem::Progress { .. })) => continue,
            Some(Err(StoreError::Closed)) => break,
            other => panic!("expected Closed, got {other:?}"),
        }
    }
    assert!(next_item(&mut watch).await.is_none());
    let reopened = disk.open(test_options());
    assert_eq!(reopened.get(b"/a", 0).await.unwrap().value, b("v"));
}

/// Zero or huge intervals and queue sizes neither panic, spin, nor stall watches.
pub async fn extreme_options_are_clamped_not_fatal<D: TestDisk>(disk: &D) {
    for options in [
        StoreOptions {
            progress_interval: Duration::ZERO,
            compaction_check: Duration::ZERO,
            watch_buffer: 0,
            write_queue: 0,
            ..test_options()
        },
        StoreOptions {
            progress_interval: Duration::MAX,
            compaction_check: Duration::MAX,
            history_window: Duration::MAX,
            watch_buffer: usize::MAX,
            write_queue: usize::MAX,
        },
    ] {
        let store = disk.open(options);
        let mut watch = store.watch(prefix("/x/"), 0).await.unwrap();
        let kv = store.put(b("/x/k"), b("v"), Precondition::None).await.unwrap();
        loop {
            match next_item(&mut watch).await {
                Some(Ok(WatchItem::Event(event))) => {
                    assert_eq!(event.kv, kv);
                    break;
                }
                Some(Ok(WatchItem::Progress { .. })) => continue,
                other => panic!("expected the event, got {other:?}"),
            }
        }
    }
}
