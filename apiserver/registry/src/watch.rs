//! Watch through the registry: store events become Kubernetes watch events.
//!
//! ```text
//! resourceVersion unset / "0"     ADDED for each current object, then changes
//! resourceVersion=N               changes after N; N compacted → one ERROR event (410 Expired)
//! sendInitialEvents=true (+match) ADDED for each current object, BOOKMARK marked
//!                                 `k8s.io/initial-events-end: "true"`, then changes
//! ```
//! With selectors, an object that starts matching arrives as ADDED and one that stops matching
//! as DELETED (its previous state, at the event's resourceVersion), as upstream's cacher does.
//! Progress notifications become BOOKMARK events when the client allows them.

use std::pin::Pin;

use apiserver_machinery::ApiError;
use apiserver_machinery::resource_version::{ReadParams, WatchStart, plan_watch};
use apiserver_machinery::selectors::{FieldSelector, LabelSelector};
use apiserver_store::{EventKind, KeyValue, ListOptions as StoreList, StoreError, WatchItem, WatchTarget};
use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use serde_json::{Value, json};

use crate::object::{Object, set_meta};
use crate::pruned::Paths;
use crate::registry::Registry;

/// The annotation on the bookmark that ends a watch-list's initial events.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// Options of a watch.
#[derive(Debug, Clone, Copy, Default)]
pub struct WatchOptions<'a> {
    /// resourceVersion, match, sendInitialEvents, allowWatchBookmarks.
    pub read: ReadParams<'a>,
    /// `labelSelector`.
    pub label_selector: Option<&'a str>,
    /// `fieldSelector`.
    pub field_selector: Option<&'a str>,
    /// The caller sends plain JSON: changes may come as ready-made lines
    /// ([`WatchEvent::line`]) built from the stored bytes, with no decode and re-encode per
    /// watcher (when no selector needs the decoded object).
    pub json_lines: bool,
}

/// One watch event, ready to be encoded as `{"type": ..., "object": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchEvent {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`.
    pub kind: &'static str,
    /// The object (a `Status` for `ERROR`); `Null` when the event comes as a [`Self::line`].
    pub object: Value,
    /// The whole event as a JSON line (`{"type":...,"object":...}` and a newline), made from
    /// the stored bytes, when the watch asked for [`WatchOptions::json_lines`].
    pub line: Option<Bytes>,
}

impl WatchEvent {
    fn new(kind: &'static str, object: Value) -> Self {
        Self { kind, object, line: None }
    }

    /// `{"type":"<kind>","object":<stored object with its resourceVersion>}` and a newline;
    /// `None` when the stored bytes are not of the expected form.
    fn from_stored(kind: &'static str, stored: &[u8], revision: u64) -> Option<Self> {
        let object = crate::raw::with_resource_version(stored, revision)?;
        let mut line = Vec::with_capacity(object.len() + 32);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(kind.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        line.extend_from_slice(&object);
        line.extend_from_slice(b"}\n");
        Some(Self { kind, object: Value::Null, line: Some(Bytes::from(line)) })
    }

    /// The event as JSON.
    pub fn to_json(&self) -> Value {
        json!({ "type": self.kind, "object": self.object })
    }
}

/// A registry watch: ends after an `ERROR` event or when the store goes away.
pub type EventStream = Pin<Box<dyn Stream<Item = WatchEvent> + Send>>;

struct Filter {
    labels: LabelSelector,
    fields: FieldSelector,
}

/// How a watcher's events are made.
enum Answer {
    /// Lines from the stored bytes, nothing decoded (no selectors).
    Lines,
    /// Lines from the stored bytes; the selectors read only these paths of each change.
    SelectedLines(Paths),
    /// Decoded objects (converted versions, or a caller that does not take lines).
    Objects,
}

impl Registry {
    /// Watches objects (in a namespace, or everywhere with `None`).
    pub async fn watch(&self, namespace: Option<&str>, options: WatchOptions<'_>) -> Result<EventStream, ApiError> {
        let (labels, fields) = self.selectors(options.label_selector, options.field_selector)?;
        let filter = Filter { labels, fields };
        let bookmarks = options.read.allow_watch_bookmarks == Some(true);
        let prefix = Bytes::from(self.prefix(namespace));
        let store = self.store();

        let (initial, start, end_marker) = match plan_watch(&options.read)? {
            WatchStart::After(revision) => (Vec::new(), revision + 1, false),
            WatchStart::CurrentState => {
                let (items, revision) = self.current_state(&prefix, &filter).await?;
                (items, revision + 1, false)
            }
            WatchStart::InitialEvents { not_older_than } => {
                let current = store.current_revision();
                if let Some(wanted) = not_older_than.filter(|&w| w > current) {
                    return Err(ApiError::too_large_resource_version(wanted, current, 1));
                }
                let (items, revision) = self.current_state(&prefix, &filter).await?;
                (items, revision + 1, true)
            }
        };
        let mut initial: Vec<WatchEvent> =
            initial.into_iter().map(|obj| WatchEvent::new("ADDED", Value::Object(obj))).collect();
        if end_marker {
            initial.push(self.bookmark(start - 1, true));
        }

        let live = match store.watch(WatchTarget::Prefix(prefix), start).await {
            Ok(live) => live,
            Err(StoreError::Compacted { compacted }) => {
                let status = ApiError::too_old_resource_version(start - 1, compacted);
                let error = WatchEvent::new("ERROR", json!(status.status()));
                return Ok(Box::pin(stream::iter(initial).chain(stream::once(async { error }))));
            }
            Err(err) => return Err(self.store_error(err, "")),
        };
        let registry = self.clone();
        let answer = if !options.json_lines || self.strategy().conversion().is_some() {
            Answer::Objects
        } else if filter.labels.is_empty() && filter.fields.is_empty() {
            Answer::Lines
        } else {
            Answer::SelectedLines(self.selected_paths(&filter))
        };
        let live = live
            .map(move |item| match item {
                Ok(WatchItem::Event(event)) => {
                    let (kind, kv, prev) = (&event.kind, &event.kv, event.prev.as_ref());
                    let answered = match &answer {
                        Answer::Lines => registry.line(kind, kv, prev).map(Some),
                        Answer::SelectedLines(paths) => registry.selected_line(kind, kv, prev, &filter, paths),
                        Answer::Objects => None,
                    };
                    Step::Emit(answered.unwrap_or_else(|| registry.convert(kind, kv, prev, &filter)))
                }
                Ok(WatchItem::Progress { revision }) if bookmarks => {
                    Step::Emit(Some(registry.bookmark(revision, false)))
                }
                Ok(WatchItem::Progress { .. }) => Step::Emit(None),
                Err(StoreError::Compacted { compacted }) => {
                    let status = ApiError::too_old_resource_version(start - 1, compacted);
                    Step::Last(WatchEvent::new("ERROR", json!(status.status())))
                }
                // Too slow, or the store is closing: end the watch; the client watches again
                // from its last resourceVersion.
                Err(_) => Step::End,
            })
            .scan(false, |ended, step| {
                let out = match step {
                    _ if *ended => None,
                    Step::Emit(event) => Some(event),
                    Step::Last(event) => {
                        *ended = true;
                        Some(Some(event))
                    }
                    Step::End => None,
                };
                futures::future::ready(out)
            })
            .filter_map(futures::future::ready);
        Ok(Box::pin(stream::iter(initial).chain(live)))
    }

    /// Every matching object now, and the revision they were read at.
    async fn current_state(&self, prefix: &[u8], filter: &Filter) -> Result<(Vec<Object>, u64), ApiError> {
        let page = self.store().list(prefix, StoreList::default()).await.map_err(|e| self.store_error(e, ""))?;
        let mut items = Vec::new();
        for kv in &page.items {
            let obj = self.decode(kv)?;
            if self.matches(&obj, &filter.labels, &filter.fields) {
                items.push(obj);
            }
        }
        Ok((items, page.revision))
    }

    /// A BOOKMARK: an object of the kind carrying only a resourceVersion (and, at the end of a
    /// watch-list's initial events, the annotation that says so).
    fn bookmark(&self, revision: u64, initial_events_end: bool) -> WatchEvent {
        let r = self.resource();
        let mut metadata = json!({ "resourceVersion": revision.to_string() });
        if initial_events_end {
            metadata["annotations"] = json!({ INITIAL_EVENTS_END: "true" });
        }
        WatchEvent::new("BOOKMARK", json!({ "apiVersion": r.api_version(), "kind": r.kind, "metadata": metadata }))
    }

    /// The watch event a store change means for this watcher, if any.
    fn convert(&self, kind: &EventKind, kv: &KeyValue, prev: Option<&KeyValue>, filter: &Filter) -> Option<WatchEvent> {
        let decode_at = |kv: &KeyValue, revision: u64| -> Option<Object> {
            let mut obj = self.decode(kv).ok()?;
            set_meta(&mut obj, "resourceVersion", Some(json!(revision.to_string())));
            Some(obj)
        };
        let revision = kv.mod_revision;
        let passes = |obj: &Object| self.matches(obj, &filter.labels, &filter.fields);
        let old = prev.and_then(|p| decode_at(p, revision));
        let (event_kind, object) = match kind {
            EventKind::Delete => (old.as_ref().filter(|o| passes(o)).map(|_| "DELETED"), old),
            EventKind::Put => {
                let new = self.decode(kv).ok()?;
                let (now, before) = (passes(&new), old.as_ref().is_some_and(passes));
                match (now, before) {
                    (true, true) => (Some("MODIFIED"), Some(new)),
                    (true, false) => (Some("ADDED"), Some(new)),
                    (false, true) => (Some("DELETED"), old),
                    (false, false) => (None, None),
                }
            }
        };
        Some(WatchEvent::new(event_kind?, Value::Object(object?)))
    }

    /// What the selectors of `filter` read: the name, namespace and labels, and the paths of
    /// each selected field.
    fn selected_paths(&self, filter: &Filter) -> Paths {
        let mut paths = vec!["metadata.name", "metadata.namespace", "metadata.labels"];
        for requirement in filter.fields.requirements() {
            if let Some(field) = crate::fields::find(self.strategy().selectable_fields(), &requirement.field) {
                paths.extend_from_slice(field.reads());
            }
        }
        Paths::new(paths)
    }

    /// The event line of a change for a watcher with selectors, as [`Self::convert`] decides it
    /// but reading only the selected paths of each state and answering with the stored bytes:
    /// `Some(None)` when the change means nothing to this watcher, `None` when the bytes are
    /// not of the expected form (the caller decodes).
    fn selected_line(
        &self,
        kind: &EventKind,
        kv: &KeyValue,
        prev: Option<&KeyValue>,
        filter: &Filter,
        paths: &Paths,
    ) -> Option<Option<WatchEvent>> {
        let passes = |stored: &[u8]| -> Option<bool> {
            Some(self.matches(&paths.decode(stored)?, &filter.labels, &filter.fields))
        };
        let revision = kv.mod_revision;
        let before = match prev {
            Some(prev) => passes(&prev.value)?,
            None => false,
        };
        let (event_kind, bytes) = match kind {
            EventKind::Delete => (before.then_some("DELETED"), prev.map(|p| &p.value)),
            EventKind::Put => match (passes(&kv.value)?, before) {
                (true, true) => (Some("MODIFIED"), Some(&kv.value)),
                (true, false) => (Some("ADDED"), Some(&kv.value)),
                (false, true) => (Some("DELETED"), prev.map(|p| &p.value)),
                (false, false) => (None, None),
            },
        };
        match (event_kind, bytes) {
            (Some(event_kind), Some(bytes)) => WatchEvent::from_stored(event_kind, bytes, revision).map(Some),
            _ => Some(None),
        }
    }

    /// The event line of a change for a watcher without selectors: what happened follows from
    /// the change itself (a put of a new key is ADDED, of an existing one MODIFIED; a delete
    /// carries the last state at the delete's revision), so nothing is decoded.
    fn line(&self, kind: &EventKind, kv: &KeyValue, prev: Option<&KeyValue>) -> Option<WatchEvent> {
        match kind {
            EventKind::Put if prev.is_some() => WatchEvent::from_stored("MODIFIED", &kv.value, kv.mod_revision),
            EventKind::Put => WatchEvent::from_stored("ADDED", &kv.value, kv.mod_revision),
            EventKind::Delete => WatchEvent::from_stored("DELETED", &prev?.value, kv.mod_revision),
        }
    }
}

enum Step {
    Emit(Option<WatchEvent>),
    Last(WatchEvent),
    End,
}
