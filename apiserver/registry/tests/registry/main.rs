//! The registry's one integration-test binary: every verb through the generic registry, over
//! the real store engine (in memory), with the resources implemented so far.

mod admission;

use std::sync::Arc;

use apiserver_machinery::ApiError;
use apiserver_machinery::resource_version::ReadParams;
use apiserver_registry::resources::core::{ConfigMaps, Namespaces, Secrets};
use apiserver_registry::{DeleteOptions, Deleted, ListOptions, Propagation, Registry, Strategy, WriteOptions};
use apiserver_store::{MemoryStore, Store, StoreOptions};
use serde_json::{Value, json};

fn store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::in_memory(StoreOptions::default()))
}

fn registry(strategy: impl Strategy, store: &Arc<dyn Store>) -> Registry {
    Registry::new(Arc::new(strategy), store.clone())
}

fn cm(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})
}

const WRITE: WriteOptions = WriteOptions { dry_run: false, field_manager: None, force: false };

fn rv(obj: &serde_json::Map<String, Value>) -> u64 {
    obj["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap()
}

fn causes(err: &ApiError) -> Vec<(String, String)> {
    let details = err.status().details.as_ref().expect("details");
    details
        .causes
        .iter()
        .flatten()
        .map(|c| (c.field.clone().unwrap_or_default(), c.reason.clone().unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn create_sets_system_fields_and_get_reads_them_back() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    let created = configmaps.create(Some("default"), cm("app", json!({"tier": "web"})), WRITE).await.unwrap();
    let meta = &created["metadata"];
    assert_eq!(meta["namespace"], "default");
    assert_eq!(meta["uid"].as_str().unwrap().len(), 36);
    assert!(meta["creationTimestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(rv(&created), store.current_revision());
    let read = configmaps.get(Some("default"), "app", None).await.unwrap();
    assert_eq!(read, created);
    // Clients cannot set server fields; a resourceVersion on create is refused like upstream.
    let mut body = cm("forged", json!({}));
    body["metadata"]["uid"] = json!("forged-uid");
    let forged = configmaps.create(Some("default"), body.clone(), WRITE).await.unwrap();
    assert_ne!(forged["metadata"]["uid"], "forged-uid");
    body["metadata"]["name"] = json!("with-rv");
    body["metadata"]["resourceVersion"] = json!("999");
    let err = configmaps.create(Some("default"), body, WRITE).await.unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (500, "resourceVersion should not be set on objects to be created")
    );
}

#[tokio::test]
async fn generate_name_and_namespace_rules() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    let body = json!({"metadata": {"generateName": "job-"}, "data": {}});
    let created = configmaps.create(Some("ns1"), body, WRITE).await.unwrap();
    let name = created["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("job-") && name.len() == 9, "{name}");
    let mut other_ns = cm("x", json!({}));
    other_ns["metadata"]["namespace"] = json!("other");
    let err = configmaps.create(Some("ns1"), other_ns, WRITE).await.unwrap_err();
    assert_eq!(err.code(), 400);
}

#[tokio::test]
async fn invalid_objects_get_422_with_every_cause() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    let body =
        json!({"metadata": {"name": "Bad_Name", "labels": {"-x": "ok", "y": "bad value"}}, "data": {"a/b": "v"}});
    let err = configmaps.create(Some("default"), body, WRITE).await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (422, "Invalid"));
    let fields: Vec<String> = causes(&err).into_iter().map(|(f, _)| f).collect();
    assert!(fields.contains(&"metadata.name".to_string()), "{fields:?}");
    assert!(fields.contains(&"metadata.labels".to_string()), "{fields:?}");
    assert!(fields.contains(&"data[a/b]".to_string()), "{fields:?}");
    assert!(err.to_string().starts_with("ConfigMap \"Bad_Name\" is invalid: ["), "{err}");

    let err = configmaps.create(Some("default"), json!({"metadata": {}}), WRITE).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required"
    );
    assert_eq!(store.current_revision(), 0, "nothing stored");
}

#[tokio::test]
async fn wrong_kind_or_shape_is_400() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    let wrong_kind = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}});
    assert_eq!(configmaps.create(Some("d"), wrong_kind, WRITE).await.unwrap_err().code(), 400);
    let wrong_version = json!({"apiVersion": "apps/v1", "metadata": {"name": "a"}});
    assert_eq!(configmaps.create(Some("d"), wrong_version, WRITE).await.unwrap_err().code(), 400);
    let wrong_shape = json!({"metadata": {"name": "a"}, "data": {"k": 5}});
    assert_eq!(configmaps.create(Some("d"), wrong_shape, WRITE).await.unwrap_err().code(), 400);
    assert_eq!(configmaps.create(Some("d"), json!([1, 2]), WRITE).await.unwrap_err().code(), 400);
}

#[tokio::test]
async fn duplicate_create_is_409_already_exists() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    configmaps.create(Some("default"), cm("a", json!({})), WRITE).await.unwrap();
    let err = configmaps.create(Some("default"), cm("a", json!({})), WRITE).await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (409, "AlreadyExists"));
    assert_eq!(err.to_string(), "configmaps \"a\" already exists");
    // The same name in another namespace is another object.
    configmaps.create(Some("other"), cm("a", json!({})), WRITE).await.unwrap();
}

#[tokio::test]
async fn update_is_optimistic_with_a_resource_version_and_unconditional_without() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    let created = configmaps.create(Some("d"), cm("a", json!({})), WRITE).await.unwrap();
    let mut body = Value::Object(created.clone());
    body["data"] = json!({"k": "v2"});
    let updated = configmaps.update(Some("d"), "a", body.clone(), WRITE).await.unwrap();
    assert!(rv(&updated) > rv(&created));
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    // The same body again carries a stale resourceVersion.
    let err = configmaps.update(Some("d"), "a", body.clone(), WRITE).await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (409, "Conflict"));
    assert!(err.to_string().contains("the object has been modified"));
    // Without one, it applies to whatever is stored.
    body["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    body["data"] = json!({"k": "v3"});
    let forced = configmaps.update(Some("d"), "a", body.clone(), WRITE).await.unwrap();
    assert_eq!(forced["data"]["k"], "v3");
    // A no-op update writes nothing.
    let before = store.current_revision();
    let same = configmaps.update(Some("d"), "a", body.clone(), WRITE).await.unwrap();
    assert_eq!((rv(&same), store.current_revision()), (before, before));
    // Name mismatch, immutable uid, missing object.
    assert_eq!(configmaps.update(Some("d"), "b", body.clone(), WRITE).await.unwrap_err().code(), 400);
    let mut new_uid = body.clone();
    new_uid["metadata"]["uid"] = json!("00000000-0000-0000-0000-000000000000");
    let err = configmaps.update(Some("d"), "a", new_uid, WRITE).await.unwrap_err();
    assert_eq!(err.code(), 409, "a different uid is a failed precondition");
    let mut zero = body.clone();
    zero["metadata"]["resourceVersion"] = json!("0");
    zero["data"] = json!({"k": "v4"});
    assert_eq!(
        configmaps.update(Some("d"), "a", zero, WRITE).await.unwrap()["data"]["k"],
        "v4",
        "rv 0 is unconditional"
    );
    let mut missing = body.clone();
    missing["metadata"]["name"] = json!("zzz");
    assert_eq!(configmaps.update(Some("d"), "zzz", missing, WRITE).await.unwrap_err().code(), 404);
}

async fn list_page(registry: &Registry, limit: i64, token: Option<&str>) -> Result<Value, ApiError> {
    let read = ReadParams { limit: Some(limit), continue_token: token, ..ReadParams::default() };
    registry.list(Some("d"), ListOptions { read, ..ListOptions::default() }).await
}

async fn list_at(registry: &Registry, rv: &str, matching: Option<&str>) -> Result<Value, ApiError> {
    let read = ReadParams { resource_version: Some(rv), resource_version_match: matching, ..ReadParams::default() };
    registry.list(Some("d"), ListOptions { read, ..ListOptions::default() }).await
}

async fn names_of(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|i| i["metadata"]["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn list_filters_by_label_and_field_selectors() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web")] {
        configmaps.create(Some("d"), cm(name, json!({"tier": tier})), WRITE).await.unwrap();
    }
    configmaps.create(Some("other"), cm("z", json!({"tier": "web"})), WRITE).await.unwrap();
    let list =
        |labels, fields| ListOptions { label_selector: labels, field_selector: fields, ..ListOptions::default() };
    let web = configmaps.list(Some("d"), list(Some("tier=web"), None)).await.unwrap();
    assert_eq!(names_of(&web).await, ["a", "c"]);
    assert_eq!(web["kind"], "ConfigMapList");
    assert_eq!(web["metadata"]["resourceVersion"], store.current_revision().to_string());
    let everywhere = configmaps.list(None, list(Some("tier in (web)"), None)).await.unwrap();
    assert_eq!(names_of(&everywhere).await, ["a", "c", "z"]);
    let by_name = configmaps.list(None, list(None, Some("metadata.name=b"))).await.unwrap();
    assert_eq!(names_of(&by_name).await, ["b"]);
    let by_ns = configmaps.list(None, list(None, Some("metadata.namespace!=d"))).await.unwrap();
    assert_eq!(names_of(&by_ns).await, ["z"]);
    let err = configmaps.list(None, list(None, Some("spec.nodeName=x"))).await.unwrap_err();
    assert_eq!(err.code(), 400);
    assert_eq!(
        err.to_string(),
        "\"spec.nodeName\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    );
    assert_eq!(configmaps.list(None, list(Some("tier in web"), None)).await.unwrap_err().code(), 400);
}

#[tokio::test]
async fn list_pages_are_one_snapshot_and_tokens_expire_with_compaction() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    for i in 0..10 {
        configmaps.create(Some("d"), cm(&format!("cm-{i}"), json!({"n": i.to_string()})), WRITE).await.unwrap();
    }
    let page = |limit, token| list_page(&configmaps, limit, token);
    let first = page(4, None).await.unwrap();
    assert_eq!(names_of(&first).await, ["cm-0", "cm-1", "cm-2", "cm-3"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 6);
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    // Writes after the first page do not show up in later pages.
    configmaps.create(Some("d"), cm("cm-5a", json!({})), WRITE).await.unwrap();
    configmaps.delete(Some("d"), "cm-7", &DeleteOptions::default()).await.unwrap();
    let second = page(4, Some(&token)).await.unwrap();
    assert_eq!(names_of(&second).await, ["cm-4", "cm-5", "cm-6", "cm-7"]);
    assert_eq!(second["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"]);
    let token = second["metadata"]["continue"].as_str().unwrap().to_string();
    let last = page(4, Some(&token)).await.unwrap();
    assert_eq!(names_of(&last).await, ["cm-8", "cm-9"]);
    assert!(last["metadata"].get("continue").is_none());
    // Once the snapshot is compacted the token is 410 Expired.
    store.compact(store.current_revision()).await.unwrap();
    let err = page(4, Some(&token)).await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (410, "Expired"));
    assert!(err.to_string().starts_with("The provided continue parameter is too old"));
    // ...and offers a token that goes on from the latest state after the same key.
    let latest = err.status().metadata.continue_.clone().expect("a continue token in the 410");
    let rest = page(4, Some(&latest)).await.unwrap();
    assert_eq!(names_of(&rest).await, ["cm-8", "cm-9"]);
    assert_eq!(page(4, Some("garbage")).await.unwrap_err().code(), 400);
}

#[tokio::test]
async fn list_and_get_resource_version_semantics() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    let a = configmaps.create(Some("d"), cm("a", json!({})), WRITE).await.unwrap();
    configmaps.create(Some("d"), cm("b", json!({})), WRITE).await.unwrap();
    let at = |rv, matching| list_at(&configmaps, rv, matching);
    let exact = list_at(&configmaps, &rv(&a).to_string(), Some("Exact")).await.unwrap();
    assert_eq!(names_of(&exact).await, ["a"]);
    assert_eq!(at("1", None).await.unwrap()["items"].as_array().unwrap().len(), 2, "not older than 1");
    assert_eq!(at("99", None).await.unwrap_err().code(), 504);
    assert_eq!(at("x", None).await.unwrap_err().code(), 400);
    assert_eq!(configmaps.get(Some("d"), "a", Some("99")).await.unwrap_err().code(), 504);
    assert_eq!(configmaps.get(Some("d"), "nope", None).await.unwrap_err().to_string(), "configmaps \"nope\" not found");
}

#[tokio::test]
async fn delete_at_once_or_after_finalizers() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    configmaps.create(Some("d"), cm("plain", json!({})), WRITE).await.unwrap();
    assert!(matches!(
        configmaps.delete(Some("d"), "plain", &DeleteOptions::default()).await.unwrap(),
        Deleted::Gone(_)
    ));
    assert_eq!(configmaps.get(Some("d"), "plain", None).await.unwrap_err().code(), 404);
    assert_eq!(configmaps.delete(Some("d"), "plain", &DeleteOptions::default()).await.unwrap_err().code(), 404);

    let mut guarded = cm("guarded", json!({}));
    guarded["metadata"]["finalizers"] = json!(["example.com/keep"]);
    configmaps.create(Some("d"), guarded, WRITE).await.unwrap();
    let Deleted::Pending(marked) = configmaps.delete(Some("d"), "guarded", &DeleteOptions::default()).await.unwrap()
    else {
        panic!("a finalizer keeps the object");
    };
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 0);
    // Removing the last finalizer completes the delete.
    let mut body = Value::Object(marked.clone());
    body["metadata"]["finalizers"] = json!([]);
    configmaps.update(Some("d"), "guarded", body, WRITE).await.unwrap();
    assert_eq!(configmaps.get(Some("d"), "guarded", None).await.unwrap_err().code(), 404);
}

#[tokio::test]
async fn delete_preconditions_propagation_and_dry_run() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    configmaps.create(Some("d"), cm("a", json!({})), WRITE).await.unwrap();
    let wrong_uid = DeleteOptions { uid: Some("nope".into()), ..DeleteOptions::default() };
    let err = configmaps.delete(Some("d"), "a", &wrong_uid).await.unwrap_err();
    assert_eq!(err.code(), 409);
    assert!(err.to_string().contains("the UID in the precondition (nope) does not match the UID in record"), "{err}");
    let dry = DeleteOptions { dry_run: true, ..DeleteOptions::default() };
    assert!(matches!(configmaps.delete(Some("d"), "a", &dry).await.unwrap(), Deleted::Gone(_)));
    configmaps.get(Some("d"), "a", None).await.expect("dry run deletes nothing");
    let orphan = DeleteOptions { propagation: Some(Propagation::Orphan), ..DeleteOptions::default() };
    let Deleted::Pending(obj) = configmaps.delete(Some("d"), "a", &orphan).await.unwrap() else {
        panic!("orphan deletion waits for the garbage collector");
    };
    assert_eq!(obj["metadata"]["finalizers"], json!(["orphan"]));
    // A later Background delete replaces the garbage collector's finalizer (none left: gone).
    let background = DeleteOptions { propagation: Some(Propagation::Background), ..DeleteOptions::default() };
    assert!(matches!(configmaps.delete(Some("d"), "a", &background).await.unwrap(), Deleted::Gone(_)));
}

#[tokio::test]
async fn dry_run_create_stores_nothing() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    let obj = configmaps.create(Some("d"), cm("a", json!({})), WriteOptions { dry_run: true, ..WRITE }).await.unwrap();
    assert!(obj["metadata"].get("resourceVersion").is_none());
    assert_eq!(store.current_revision(), 0);
}

#[tokio::test]
async fn namespaces_are_cluster_scoped_and_terminate_before_they_go() {
    let store = store();
    let namespaces = registry(Namespaces, &store);
    let created = namespaces.create(None, json!({"metadata": {"name": "team-a"}}), WRITE).await.unwrap();
    assert_eq!(created["status"]["phase"], "Active");
    assert_eq!(created["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(created["metadata"]["labels"]["kubernetes.io/metadata.name"], "team-a");
    assert!(created["metadata"].get("namespace").is_none());
    let err = namespaces.create(None, json!({"metadata": {"name": "a.b"}}), WRITE).await.unwrap_err();
    assert_eq!(err.code(), 422, "namespace names are DNS-1123 labels");
    // A client cannot change status or spec.finalizers through the main resource.
    let mut body = Value::Object(created.clone());
    body["status"] = json!({"phase": "Terminating"});
    body["spec"] = json!({"finalizers": []});
    let updated = namespaces.update(None, "team-a", body, WRITE).await.unwrap();
    assert_eq!(
        (updated["status"]["phase"].clone(), updated["spec"]["finalizers"].clone()),
        (json!("Active"), json!(["kubernetes"]))
    );
    let Deleted::Pending(terminating) = namespaces.delete(None, "team-a", &DeleteOptions::default()).await.unwrap()
    else {
        panic!("spec.finalizers keep the namespace");
    };
    assert_eq!(terminating["status"]["phase"], "Terminating");
    let phase = ListOptions { field_selector: Some("status.phase=Terminating"), ..ListOptions::default() };
    assert_eq!(names_of(&namespaces.list(None, phase).await.unwrap()).await, ["team-a"]);
}

#[tokio::test]
async fn configmap_immutability() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    let mut body = cm("frozen", json!({}));
    body["immutable"] = json!(true);
    let created = configmaps.create(Some("d"), body, WRITE).await.unwrap();
    let mut change = Value::Object(created);
    change["data"] = json!({"k": "changed"});
    let err = configmaps.update(Some("d"), "frozen", change, WRITE).await.unwrap_err();
    assert_eq!(causes(&err), vec![("data".to_string(), "FieldValueForbidden".to_string())]);
    let too_big = json!({"metadata": {"name": "big"}, "data": {"k": "x".repeat(1024 * 1024 + 1)}});
    assert_eq!(configmaps.create(Some("d"), too_big, WRITE).await.unwrap_err().code(), 422);
}

#[tokio::test]
async fn secrets_fold_string_data_and_check_their_type() {
    let store = store();
    let secrets = registry(Secrets, &store);
    let body = json!({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}, "data": {"user": "YWRtaW4="}});
    let created = secrets.create(Some("d"), body, WRITE).await.unwrap();
    assert_eq!(created["type"], "Opaque");
    assert_eq!(created["data"]["password"], "aHVudGVyMg==");
    assert!(created.get("stringData").is_none());
    let tls = json!({"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}});
    let err = secrets.create(Some("d"), tls, WRITE).await.unwrap_err();
    assert_eq!(causes(&err), vec![("data[tls.key]".to_string(), "FieldValueRequired".to_string())]);
    let not_base64 = json!({"metadata": {"name": "b"}, "data": {"k": "%%%"}});
    assert_eq!(secrets.create(Some("d"), not_base64, WRITE).await.unwrap_err().code(), 400);
    let mut retype = Value::Object(created);
    retype["type"] = json!("kubernetes.io/basic-auth");
    let err = secrets.update(Some("d"), "s", retype, WRITE).await.unwrap_err();
    assert!(causes(&err).contains(&("type".to_string(), "FieldValueInvalid".to_string())));
}

mod watch {
    use std::time::Duration;

    use apiserver_registry::{EventStream, INITIAL_EVENTS_END, WatchEvent, WatchOptions};
    use futures::StreamExt;

    use super::*;

    async fn next(stream: &mut EventStream) -> WatchEvent {
        tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("an event within 10 s").expect("open")
    }

    fn summary(event: &WatchEvent) -> (String, String) {
        (event.kind.to_string(), event.object["metadata"]["name"].as_str().unwrap_or_default().to_string())
    }

    fn options<'a>(rv: Option<&'a str>, labels: Option<&'a str>) -> WatchOptions<'a> {
        WatchOptions {
            read: ReadParams { resource_version: rv, ..ReadParams::default() },
            label_selector: labels,
            field_selector: None,
            json_lines: false,
        }
    }

    /// Events as ready-made JSON lines (from the stored bytes) are the decoded events, encoded.
    #[tokio::test]
    async fn json_lines_equal_the_decoded_events() {
        let store = store();
        let configmaps = registry(ConfigMaps, &store);
        let start = store.current_revision().to_string();
        let mut decoded = configmaps.watch(Some("d"), options(Some(&start), None)).await.unwrap();
        let lines_options = WatchOptions { json_lines: true, ..options(Some(&start), None) };
        let mut lines = configmaps.watch(Some("d"), lines_options).await.unwrap();
        configmaps.create(Some("d"), cm("a", json!({})), WRITE).await.unwrap();
        let mut changed = configmaps.get(Some("d"), "a", None).await.unwrap();
        changed.insert("data".into(), json!({"k": "changed"}));
        configmaps.update(Some("d"), "a", Value::Object(changed), WRITE).await.unwrap();
        configmaps.delete(Some("d"), "a", &DeleteOptions::default()).await.unwrap();
        for kind in ["ADDED", "MODIFIED", "DELETED"] {
            let expected = next(&mut decoded).await;
            let line = next(&mut lines).await;
            assert_eq!(line.kind, kind);
            let bytes = line.line.expect("a ready-made line");
            assert!(bytes.ends_with(b"\n"));
            assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), expected.to_json());
        }
    }

    /// With selectors too: the lines (selectors reading only the fields they compare) are the
    /// decoded events through every transition, and changes that do not concern the watcher
    /// send nothing.
    #[tokio::test]
    async fn json_lines_with_selectors_equal_the_decoded_events() {
        let store = store();
        let configmaps = registry(ConfigMaps, &store);
        let start = store.current_revision().to_string();
        let selected = |lines| WatchOptions {
            field_selector: Some("metadata.name!=other"),
            json_lines: lines,
            ..options(Some(&start), Some("tier=web"))
        };
        let mut decoded = configmaps.watch(Some("d"), selected(false)).await.unwrap();
        let mut lines = configmaps.watch(Some("d"), selected(true)).await.unwrap();
        configmaps.create(Some("d"), cm("other", json!({"tier": "web"})), WRITE).await.unwrap();
        let created = configmaps.create(Some("d"), cm("a", json!({"tier": "db"})), WRITE).await.unwrap();
        let mut body = Value::Object(created);
        body["metadata"].as_object_mut().unwrap().remove("resourceVersion");
        for tier in ["web", "web", "cache", "web"] {
            body["metadata"]["labels"] = json!({"tier": tier});
            body["data"] = json!({"seen": tier});
            configmaps.update(Some("d"), "a", body.clone(), WRITE).await.unwrap();
        }
        configmaps.delete(Some("d"), "a", &DeleteOptions::default()).await.unwrap();
        for kind in ["ADDED", "MODIFIED", "DELETED", "ADDED", "DELETED"] {
            let expected = next(&mut decoded).await;
            let line = next(&mut lines).await;
            assert_eq!((line.kind, expected.kind), (kind, kind));
            let bytes = line.line.expect("a ready-made line");
            assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), expected.to_json());
        }
    }

    #[tokio::test]
    async fn without_resource_version_it_sends_current_state_then_changes() {
        let store = store();
        let configmaps = registry(ConfigMaps, &store);
        configmaps.create(Some("d"), cm("a", json!({})), WRITE).await.unwrap();
        configmaps.create(Some("other"), cm("x", json!({})), WRITE).await.unwrap();
        let mut events = configmaps.watch(Some("d"), options(None, None)).await.unwrap();
        assert_eq!(summary(&next(&mut events).await), ("ADDED".into(), "a".into()));
        let created = configmaps.create(Some("d"), cm("b", json!({})), WRITE).await.unwrap();
        let added = next(&mut events).await;
        assert_eq!(summary(&added), ("ADDED".into(), "b".into()));
        assert_eq!(added.object, Value::Object(created.clone()));
        let mut body = Value::Object(created);
        body["data"] = json!({"k": "2"});
        configmaps.update(Some("d"), "b", body, WRITE).await.unwrap();
        assert_eq!(summary(&next(&mut events).await), ("MODIFIED".into(), "b".into()));
        configmaps.delete(Some("d"), "b", &DeleteOptions::default()).await.unwrap();
        let deleted = next(&mut events).await;
        assert_eq!(summary(&deleted), ("DELETED".into(), "b".into()));
        assert_eq!(deleted.object["metadata"]["resourceVersion"], store.current_revision().to_string());
    }

    #[tokio::test]
    async fn from_a_resource_version_it_sends_only_later_changes() {
        let store = store();
        let configmaps = registry(ConfigMaps, &store);
        configmaps.create(Some("d"), cm("a", json!({})), WRITE).await.unwrap();
        let b = configmaps.create(Some("d"), cm("b", json!({})), WRITE).await.unwrap();
        configmaps.create(Some("d"), cm("c", json!({})), WRITE).await.unwrap();
        let from = rv(&b).to_string();
        let mut events = configmaps.watch(Some("d"), options(Some(&from), None)).await.unwrap();
        assert_eq!(summary(&next(&mut events).await), ("ADDED".into(), "c".into()));
    }

    #[tokio::test]
    async fn a_compacted_resource_version_is_an_in_stream_410() {
        let store = store();
        let configmaps = registry(ConfigMaps, &store);
        for name in ["a", "b", "c"] {
            configmaps.create(Some("d"), cm(name, json!({})), WRITE).await.unwrap();
        }
        store.compact(3).await.unwrap();
        let mut events = configmaps.watch(Some("d"), options(Some("1"), None)).await.unwrap();
        let error = next(&mut events).await;
        assert_eq!(error.kind, "ERROR");
        assert_eq!(error.object["code"], 410);
        assert_eq!(error.object["reason"], "Expired");
        assert_eq!(error.object["kind"], "Status");
        assert!(events.next().await.is_none(), "the watch ends after the error");
    }

    #[tokio::test]
    async fn objects_entering_and_leaving_a_selector_are_added_and_deleted() {
        let store = store();
        let configmaps = registry(ConfigMaps, &store);
        let created = configmaps.create(Some("d"), cm("a", json!({"tier": "db"})), WRITE).await.unwrap();
        let mut events = configmaps.watch(Some("d"), options(None, Some("tier=web"))).await.unwrap();
        let mut body = Value::Object(created);
        body["metadata"]["labels"] = json!({"tier": "web"});
        body["metadata"].as_object_mut().unwrap().remove("resourceVersion");
        configmaps.update(Some("d"), "a", body.clone(), WRITE).await.unwrap();
        assert_eq!(summary(&next(&mut events).await), ("ADDED".into(), "a".into()));
        body["metadata"]["labels"] = json!({"tier": "cache"});
        configmaps.update(Some("d"), "a", body, WRITE).await.unwrap();
        let left = next(&mut events).await;
        assert_eq!(summary(&left), ("DELETED".into(), "a".into()));
        assert_eq!(left.object["metadata"]["labels"]["tier"], "web", "the last state that matched");
        assert_eq!(left.object["metadata"]["resourceVersion"], store.current_revision().to_string());
    }

    #[tokio::test]
    async fn watch_list_ends_initial_events_with_an_annotated_bookmark() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::in_memory(StoreOptions {
            progress_interval: Duration::from_millis(50),
            ..StoreOptions::default()
        }));
        let configmaps = registry(ConfigMaps, &store);
        configmaps.create(Some("d"), cm("a", json!({})), WRITE).await.unwrap();
        configmaps.create(Some("d"), cm("b", json!({})), WRITE).await.unwrap();
        let read = ReadParams {
            resource_version_match: Some("NotOlderThan"),
            send_initial_events: Some(true),
            allow_watch_bookmarks: Some(true),
            ..ReadParams::default()
        };
        let mut events = configmaps.watch(Some("d"), WatchOptions { read, ..WatchOptions::default() }).await.unwrap();
        assert_eq!(summary(&next(&mut events).await), ("ADDED".into(), "a".into()));
        assert_eq!(summary(&next(&mut events).await), ("ADDED".into(), "b".into()));
        let end = next(&mut events).await;
        assert_eq!(end.kind, "BOOKMARK");
        assert_eq!(end.object["metadata"]["annotations"][INITIAL_EVENTS_END], "true");
        assert_eq!(end.object["metadata"]["resourceVersion"], store.current_revision().to_string());
        assert_eq!(end.object["kind"], "ConfigMap");
        // Idle: periodic bookmarks follow.
        let bookmark = next(&mut events).await;
        assert_eq!(bookmark.kind, "BOOKMARK");
        assert!(bookmark.object["metadata"].get("annotations").is_none());
        // Watch-list needs resourceVersionMatch=NotOlderThan and bookmarks.
        let bad = ReadParams { send_initial_events: Some(true), ..ReadParams::default() };
        let err =
            configmaps.watch(Some("d"), WatchOptions { read: bad, ..WatchOptions::default() }).await.err().unwrap();
        assert_eq!(err.code(), 422);
    }
}

#[tokio::test]
async fn finalizer_rules() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    let with = |name: &str, finalizers: Value| {
        let mut body = cm(name, json!({}));
        body["metadata"]["finalizers"] = finalizers;
        body
    };
    let err = configmaps.create(Some("d"), with("a", json!(["custom"])), WRITE).await.unwrap_err();
    assert!(err.to_string().contains("name is neither a standard finalizer name nor is it fully qualified"), "{err}");
    let err =
        configmaps.create(Some("d"), with("b", json!(["orphan", "foregroundDeletion"])), WRITE).await.unwrap_err();
    assert!(err.to_string().contains("cannot be both set"), "{err}");
    let created = configmaps.create(Some("d"), with("c", json!(["example.com/x"])), WRITE).await.unwrap();
    let Deleted::Pending(marked) = configmaps.delete(Some("d"), "c", &DeleteOptions::default()).await.unwrap() else {
        panic!("pending");
    };
    assert_eq!(marked["metadata"]["uid"], created["metadata"]["uid"]);
    let mut more = Value::Object(marked);
    more["metadata"]["finalizers"] = json!(["example.com/x", "example.com/y"]);
    let err = configmaps.update(Some("d"), "c", more, WRITE).await.unwrap_err();
    assert!(err.to_string().contains("no new finalizers can be added if the object is being deleted"), "{err}");
    // Re-creating a name that is still being deleted says so.
    let err = configmaps.create(Some("d"), with("c", json!([])), WRITE).await.unwrap_err();
    assert_eq!(err.to_string(), "object is being deleted: configmaps \"c\" already exists");
}

#[tokio::test]
async fn merge_and_json_patches_go_through_the_update_path() {
    use apiserver_registry::PatchType;
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    let created = configmaps.create(Some("d"), cm("p", json!({"app": "web"})), WRITE).await.unwrap();
    let merged = configmaps
        .patch(
            Some("d"),
            "p",
            PatchType::Merge,
            &json!({"metadata": {"labels": {"tier": "front", "app": null}}}),
            WRITE,
        )
        .await
        .unwrap();
    assert_eq!(merged["metadata"]["labels"], json!({"tier": "front"}));
    assert!(rv(&merged) > rv(&created));
    let ops =
        json!([{"op": "test", "path": "/data/k", "value": "v"}, {"op": "replace", "path": "/data/k", "value": "w"}]);
    let patched = configmaps.patch(Some("d"), "p", PatchType::Json, &ops, WRITE).await.unwrap();
    assert_eq!(patched["data"]["k"], "w");
    let failing = json!([{"op": "test", "path": "/data/k", "value": "v"}]);
    assert_eq!(configmaps.patch(Some("d"), "p", PatchType::Json, &failing, WRITE).await.unwrap_err().code(), 422);
    // A stale resourceVersion in the patch is a precondition: 409, not retried.
    let stale = json!({"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}, "data": {"k": "x"}});
    assert_eq!(configmaps.patch(Some("d"), "p", PatchType::Merge, &stale, WRITE).await.unwrap_err().code(), 409);
    // Patches are validated like updates.
    let bad = json!({"metadata": {"labels": {"bad key": "v"}}});
    assert_eq!(configmaps.patch(Some("d"), "p", PatchType::Merge, &bad, WRITE).await.unwrap_err().code(), 422);
    assert_eq!(configmaps.patch(Some("d"), "nope", PatchType::Merge, &json!({}), WRITE).await.unwrap_err().code(), 404);
}

#[tokio::test]
async fn status_is_owned_by_the_status_subresource_and_spec_bumps_generation() {
    use apiserver_registry::PatchType;
    use apiserver_registry::resources::plain::{NameRule, Plain};
    use k8s_openapi::api::apps::v1::Deployment;
    let store = store();
    let deployments = registry(Plain::<Deployment>::new(NameRule::Subdomain, true), &store);
    let body = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
        "status": {"replicas": 99},
    });
    let created = deployments.create(Some("d"), body, WRITE).await.unwrap();
    assert!(created.get("status").is_none(), "status is not set on create");
    assert_eq!(created["metadata"]["generation"], 1);
    // Status through the subresource: spec untouched, generation unchanged.
    let mut status_body = Value::Object(created.clone());
    status_body["status"] = json!({"replicas": 3, "observedGeneration": 1});
    status_body["spec"]["replicas"] = json!(7);
    let with_status = deployments.update_status(Some("d"), "web", status_body, WRITE).await.unwrap();
    assert_eq!(with_status["status"]["replicas"], 3);
    assert!(with_status["spec"].get("replicas").is_none(), "spec ignored by /status");
    assert_eq!(with_status["metadata"]["generation"], 1);
    // The main resource ignores status and bumps generation on spec changes.
    let mut spec_body = Value::Object(with_status.clone());
    spec_body["spec"]["replicas"] = json!(5);
    spec_body["status"] = json!({"replicas": 0});
    let updated = deployments.update(Some("d"), "web", spec_body, WRITE).await.unwrap();
    assert_eq!((updated["spec"]["replicas"].clone(), updated["status"]["replicas"].clone()), (json!(5), json!(3)));
    assert_eq!(updated["metadata"]["generation"], 2);
    let patched = deployments
        .patch_status(Some("d"), "web", PatchType::Merge, &json!({"status": {"readyReplicas": 2}}), WRITE)
        .await
        .unwrap();
    assert_eq!(
        (patched["status"]["readyReplicas"].clone(), patched["metadata"]["generation"].clone()),
        (json!(2), json!(2))
    );
}

mod pods {
    use apiserver_registry::resources::core::Pods;

    use super::*;

    fn pod(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
               "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}})
    }

    #[tokio::test]
    async fn defaults_status_and_validation() {
        let store = store();
        let pods = registry(Pods, &store);
        let created = pods.create(Some("d"), pod("web"), WRITE).await.unwrap();
        let spec = &created["spec"];
        assert_eq!(
            (spec["restartPolicy"].clone(), spec["dnsPolicy"].clone()),
            (json!("Always"), json!("ClusterFirst"))
        );
        assert_eq!(
            (spec["terminationGracePeriodSeconds"].clone(), spec["schedulerName"].clone()),
            (json!(30), json!("default-scheduler"))
        );
        let container = &spec["containers"][0];
        assert_eq!(container["imagePullPolicy"], "IfNotPresent");
        assert_eq!(container["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(container["ports"][0]["protocol"], "TCP");
        assert_eq!(
            (created["status"]["phase"].clone(), created["status"]["qosClass"].clone()),
            (json!("Pending"), json!("BestEffort"))
        );

        let bad = json!({"metadata": {"name": "bad"}, "spec": {"containers": [{"name": "a", "image": ""}, {"name": "a", "image": "x"}], "restartPolicy": "Sometimes"}});
        let err = pods.create(Some("d"), bad, WRITE).await.unwrap_err();
        let fields: Vec<String> = causes(&err).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["spec.containers[0].image", "spec.containers[1].name", "spec.restartPolicy"], "{err}");
        let none = json!({"metadata": {"name": "none"}, "spec": {"containers": []}});
        assert_eq!(pods.create(Some("d"), none, WRITE).await.unwrap_err().code(), 422);
    }

    #[tokio::test]
    async fn boolean_fields_select_as_true_or_false_also_when_unset() {
        let store = store();
        let pods = registry(Pods, &store);
        pods.create(Some("d"), pod("plain"), WRITE).await.unwrap();
        let mut host = pod("host");
        host["spec"]["hostNetwork"] = json!(true);
        pods.create(Some("d"), host, WRITE).await.unwrap();
        let select = |fields: &'static str| ListOptions { field_selector: Some(fields), ..ListOptions::default() };
        let on_host = pods.list(None, select("spec.hostNetwork=true")).await.unwrap();
        assert_eq!(names_of(&on_host).await, ["host"]);
        let not_on_host = pods.list(None, select("spec.hostNetwork=false")).await.unwrap();
        assert_eq!(names_of(&not_on_host).await, ["plain"]);
        let err = pods.list(None, select("spec.nodeNames=x")).await.unwrap_err();
        assert_eq!((err.code(), err.to_string().as_str()), (400, "field label not supported: spec.nodeNames"));
    }

    #[tokio::test]
    async fn updates_may_change_only_images_and_a_few_fields() {
        let store = store();
        let pods = registry(Pods, &store);
        let created = pods.create(Some("d"), pod("web"), WRITE).await.unwrap();
        let mut image = Value::Object(created.clone());
        image["spec"]["containers"][0]["image"] = json!("nginx:1.28");
        image["metadata"].as_object_mut().unwrap().remove("resourceVersion");
        pods.update(Some("d"), "web", image.clone(), WRITE).await.unwrap();
        let mut restart = image;
        restart["spec"]["restartPolicy"] = json!("Never");
        let err = pods.update(Some("d"), "web", restart, WRITE).await.unwrap_err();
        assert!(err.to_string().contains("pod updates may not change fields other than"), "{err}");
    }

    #[tokio::test]
    async fn unscheduled_pods_go_at_once_and_scheduled_ones_wait_for_their_grace_period() {
        let store = store();
        let pods = registry(Pods, &store);
        pods.create(Some("d"), pod("pending"), WRITE).await.unwrap();
        assert!(matches!(
            pods.delete(Some("d"), "pending", &DeleteOptions::default()).await.unwrap(),
            Deleted::Gone(_)
        ));

        let mut scheduled = pod("running");
        scheduled["spec"]["nodeName"] = json!("node-1");
        pods.create(Some("d"), scheduled, WRITE).await.unwrap();
        let Deleted::Pending(marked) = pods.delete(Some("d"), "running", &DeleteOptions::default()).await.unwrap()
        else {
            panic!("a scheduled pod is deleted gracefully");
        };
        assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 30);
        let deadline: jiff::Timestamp = marked["metadata"]["deletionTimestamp"].as_str().unwrap().parse().unwrap();
        assert!(deadline > jiff::Timestamp::now() + jiff::SignedDuration::from_secs(20));
        // A shorter grace period shortens the deadline; grace 0 (the kubelet, or --force) deletes.
        let shorter = DeleteOptions { grace_period_seconds: Some(5), ..DeleteOptions::default() };
        let Deleted::Pending(shortened) = pods.delete(Some("d"), "running", &shorter).await.unwrap() else { panic!() };
        assert_eq!(shortened["metadata"]["deletionGracePeriodSeconds"], 5);
        let now = DeleteOptions { grace_period_seconds: Some(0), ..DeleteOptions::default() };
        assert!(matches!(pods.delete(Some("d"), "running", &now).await.unwrap(), Deleted::Gone(_)));
        assert_eq!(pods.get(Some("d"), "running", None).await.unwrap_err().code(), 404);
    }
}

mod services {
    use apiserver_registry::resources::core::Services;

    use super::*;

    fn svc(name: &str, spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
    }

    fn ip(obj: &serde_json::Map<String, Value>) -> String {
        obj["spec"]["clusterIP"].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn cluster_ips_are_allocated_once_and_released_on_delete() {
        let store = store();
        let services = registry(Services, &store);
        let web = services
            .create(Some("d"), svc("web", json!({"selector": {"app": "web"}, "ports": [{"port": 80}]})), WRITE)
            .await
            .unwrap();
        let web_ip: std::net::Ipv4Addr = ip(&web).parse().unwrap();
        assert_eq!(web_ip.octets()[0], 10);
        assert_eq!(web["spec"]["clusterIPs"], json!([ip(&web)]));
        assert_eq!(web["spec"]["ports"][0]["targetPort"], 80);
        assert_eq!(
            (web["spec"]["type"].clone(), web["spec"]["sessionAffinity"].clone()),
            (json!("ClusterIP"), json!("None"))
        );
        let api = services.create(Some("d"), svc("api", json!({"ports": [{"port": 80}]})), WRITE).await.unwrap();
        assert_ne!(ip(&api), ip(&web));
        // An address in use cannot be requested; once released it can.
        let taken = svc("copy", json!({"clusterIP": ip(&web), "ports": [{"port": 80}]}));
        let err = services.create(Some("d"), taken.clone(), WRITE).await.unwrap_err();
        assert!(err.to_string().contains("provided IP is already allocated"), "{err}");
        let outside = svc("outside", json!({"clusterIP": "192.168.1.1", "ports": [{"port": 80}]}));
        assert_eq!(services.create(Some("d"), outside, WRITE).await.unwrap_err().code(), 422);
        services.delete(Some("d"), "web", &DeleteOptions::default()).await.unwrap();
        let reused = services.create(Some("d"), taken, WRITE).await.unwrap();
        assert_eq!(ip(&reused), web_ip.to_string());
        // Headless services hold no address.
        let headless = services
            .create(Some("d"), svc("db", json!({"clusterIP": "None", "ports": [{"port": 5432}]})), WRITE)
            .await
            .unwrap();
        assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
    }

    #[tokio::test]
    async fn node_ports_are_allocated_in_range_and_unique() {
        let store = store();
        let services = registry(Services, &store);
        let spec = json!({"type": "NodePort", "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]});
        let a = services.create(Some("d"), svc("a", spec.clone()), WRITE).await.unwrap();
        let ports: Vec<i64> =
            a["spec"]["ports"].as_array().unwrap().iter().map(|p| p["nodePort"].as_i64().unwrap()).collect();
        assert!(ports.iter().all(|p| (30000..=32767).contains(p)) && ports[0] != ports[1], "{ports:?}");
        assert_eq!(a["spec"]["externalTrafficPolicy"], "Cluster");
        let explicit = json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": ports[0]}]});
        let err = services.create(Some("d"), svc("b", explicit), WRITE).await.unwrap_err();
        assert!(err.to_string().contains("provided port is already allocated"), "{err}");
        // An update that omits the ClusterIP and NodePorts keeps them; changing the IP is refused.
        let mut body = Value::Object(a.clone());
        body["spec"].as_object_mut().unwrap().remove("clusterIP");
        body["spec"].as_object_mut().unwrap().remove("clusterIPs");
        body["spec"]["ports"][0].as_object_mut().unwrap().remove("nodePort");
        body["metadata"].as_object_mut().unwrap().remove("resourceVersion");
        let kept = services.update(Some("d"), "a", body.clone(), WRITE).await.unwrap();
        assert_eq!((ip(&kept), kept["spec"]["ports"][0]["nodePort"].as_i64().unwrap()), (ip(&a), ports[0]));
        body["spec"]["clusterIP"] = json!("10.96.7.7");
        let err = services.update(Some("d"), "a", body, WRITE).await.unwrap_err();
        assert!(err.to_string().contains("may not change once set"), "{err}");
        let unnamed = json!({"ports": [{"port": 80}, {"port": 81}]});
        assert_eq!(services.create(Some("d"), svc("c", unnamed), WRITE).await.unwrap_err().code(), 422);
    }
}

mod pod_actions {
    use apiserver_registry::resources::core::Pods;

    use super::*;

    #[tokio::test]
    async fn binding_assigns_a_node_once() {
        let store = store();
        let pods = registry(Pods, &store);
        let body = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
        pods.create(Some("d"), body, WRITE).await.unwrap();
        pods.bind(Some("d"), "p", &json!({"metadata": {"name": "p"}, "target": {"kind": "Node", "name": "node-1"}}))
            .await
            .unwrap();
        let pod = pods.get(Some("d"), "p", None).await.unwrap();
        assert_eq!(pod["spec"]["nodeName"], "node-1");
        assert_eq!(pod["status"]["conditions"][0]["type"], "PodScheduled");
        let err = pods.bind(Some("d"), "p", &json!({"target": {"name": "node-2"}})).await.unwrap_err();
        assert_eq!(err.code(), 409);
        assert!(err.to_string().contains("is already assigned to node \"node-1\""), "{err}");
        assert_eq!(pods.bind(Some("d"), "p", &json!({"target": {}})).await.unwrap_err().code(), 422);
        // Now scheduled, an eviction deletes it gracefully.
        pods.evict(Some("d"), "p", DeleteOptions::default()).await.unwrap();
        let evicted = pods.get(Some("d"), "p", None).await.unwrap();
        assert_eq!(evicted["metadata"]["deletionGracePeriodSeconds"], 30);
    }
}

mod managed_fields {
    use apiserver_registry::resources::plain::{NameRule, Plain};
    use apiserver_registry::{Applied, PatchType};
    use k8s_openapi::api::apps::v1::Deployment;

    use super::*;

    fn by(manager: &str) -> WriteOptions {
        WriteOptions { field_manager: Some(manager.into()), ..WRITE }
    }

    fn deployment(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}}}})
    }

    /// (manager, operation, subresource) of each entry, in order.
    fn entries(obj: &serde_json::Map<String, Value>) -> Vec<(String, String, String)> {
        let text = |e: &Value, f: &str| e[f].as_str().unwrap_or_default().to_string();
        obj["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (text(e, "manager"), text(e, "operation"), text(e, "subresource")))
            .collect()
    }

    fn owned(obj: &serde_json::Map<String, Value>, manager: &str) -> Value {
        let entry = obj["metadata"]["managedFields"].as_array().unwrap().iter().find(|e| e["manager"] == manager);
        entry.map_or(Value::Null, |e| e["fieldsV1"].clone())
    }

    fn updated(applied: Applied) -> serde_json::Map<String, Value> {
        match applied {
            Applied::Updated(obj) => obj,
            Applied::Created(obj) => panic!("expected an update, the apply created {obj:?}"),
        }
    }

    #[tokio::test]
    async fn server_side_apply_creates_merges_conflicts_and_forces() {
        let store = store();
        let deployments = registry(Plain::<Deployment>::new(NameRule::Subdomain, true), &store);
        let Applied::Created(created) =
            deployments.apply(Some("d"), "web", &deployment(2, "nginx:1"), by("kubectl")).await.unwrap()
        else {
            panic!("an apply to a missing object creates it")
        };
        assert_eq!(entries(&created), [("kubectl".into(), "Apply".into(), String::new())]);
        assert_eq!(created["metadata"]["generation"], 1);
        assert_eq!(owned(&created, "kubectl")["f:spec"]["f:replicas"], json!({}));
        // Applying the same again changes nothing, not even the resourceVersion.
        let again =
            updated(deployments.apply(Some("d"), "web", &deployment(2, "nginx:1"), by("kubectl")).await.unwrap());
        assert_eq!(again, created);
        // Another manager's update takes the field it changes.
        let mut scaled = Value::Object(created.clone());
        scaled["spec"]["replicas"] = json!(5);
        let scaled = deployments.update(Some("d"), "web", scaled, by("scaler")).await.unwrap();
        assert_eq!(owned(&scaled, "scaler"), json!({"f:spec": {"f:replicas": {}}}));
        assert!(owned(&scaled, "kubectl")["f:spec"].get("f:replicas").is_none());
        // Applying a different value is a conflict with it...
        let err = deployments.apply(Some("d"), "web", &deployment(3, "nginx:2"), by("kubectl")).await.unwrap_err();
        assert_eq!((err.code(), err.reason()), (409, "Conflict"));
        assert_eq!(
            err.to_string(),
            "Apply failed with 1 conflict: conflict with \"scaler\" using apps/v1: .spec.replicas"
        );
        let cause = &err.status().details.as_ref().unwrap().causes.as_ref().unwrap()[0];
        assert_eq!(
            (cause.reason.as_deref(), cause.field.as_deref(), cause.message.as_deref()),
            (Some("FieldManagerConflict"), Some(".spec.replicas"), Some("conflict with \"scaler\" using apps/v1"))
        );
        assert_eq!(deployments.get(Some("d"), "web", None).await.unwrap(), scaled, "a conflict writes nothing");
        // ...unless forced: the field moves to the applier.
        let forced = updated(
            deployments
                .apply(Some("d"), "web", &deployment(3, "nginx:2"), WriteOptions { force: true, ..by("kubectl") })
                .await
                .unwrap(),
        );
        assert_eq!(
            (forced["spec"]["replicas"].clone(), forced["metadata"]["generation"].clone()),
            (json!(3), json!(3))
        );
        assert_eq!(entries(&forced), [("kubectl".into(), "Apply".into(), String::new())], "scaler owned nothing else");
        // Fields the applier stops applying go.
        let mut fewer = deployment(3, "nginx:2");
        fewer["metadata"].as_object_mut().unwrap().remove("labels");
        let pruned = updated(deployments.apply(Some("d"), "web", &fewer, by("kubectl")).await.unwrap());
        assert!(pruned["metadata"].get("labels").is_none());
        // Dry runs change nothing; a missing manager, another kind or managedFields are refused.
        let dry = updated(
            deployments
                .apply(Some("d"), "web", &deployment(9, "x"), WriteOptions { dry_run: true, ..by("kubectl") })
                .await
                .unwrap(),
        );
        assert_eq!(dry["spec"]["replicas"], 9);
        assert_eq!(deployments.get(Some("d"), "web", None).await.unwrap(), pruned);
        let err = deployments.apply(Some("d"), "web", &deployment(3, "x"), WRITE).await.unwrap_err();
        assert_eq!(
            (err.code(), err.to_string().as_str()),
            (
                422,
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
            )
        );
        let mut pod = deployment(3, "x");
        pod["kind"] = json!("Pod");
        let err = deployments.apply(Some("d"), "web", &pod, by("kubectl")).await.unwrap_err();
        assert_eq!((err.code(), err.to_string().as_str()), (400, "invalid object type: apps/v1, Kind=Pod"));
        let mut with_managed = deployment(3, "x");
        with_managed["metadata"]["managedFields"] = json!([]);
        assert_eq!(deployments.apply(Some("d"), "web", &with_managed, by("kubectl")).await.unwrap_err().code(), 400);
        let err = deployments.apply(Some("d"), "other", &deployment(1, "x"), by("kubectl")).await.unwrap_err();
        assert_eq!(err.to_string(), "the name of the object (web) does not match the name on the URL (other)");
        let mut keyless = deployment(1, "x");
        keyless["spec"]["template"]["spec"]["containers"] = json!([{"image": "x"}]);
        let err = deployments.apply(Some("d"), "web", &keyless, by("kubectl")).await.unwrap_err();
        assert_eq!(err.code(), 500);
        assert!(err.to_string().contains("omits key field \"name\""), "{err}");
    }

    #[tokio::test]
    async fn every_write_records_its_manager() {
        let store = store();
        let deployments = registry(Plain::<Deployment>::new(NameRule::Subdomain, true), &store);
        let created = deployments.create(Some("d"), deployment(1, "nginx:1"), by("kubectl-create")).await.unwrap();
        assert_eq!(entries(&created), [("kubectl-create".into(), "Update".into(), String::new())]);
        let fields = owned(&created, "kubectl-create");
        assert_eq!(fields["f:metadata"], json!({"f:labels": {".": {}, "f:app": {}}}));
        assert_eq!(
            fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"],
            json!({".": {}, "f:image": {}, "f:name": {}})
        );
        assert!(created["metadata"]["managedFields"][0]["time"].as_str().unwrap().ends_with('Z'));
        // A patch records its manager; an unchanged write records nothing and stores nothing.
        let labelled = deployments
            .patch(
                Some("d"),
                "web",
                PatchType::Merge,
                &json!({"metadata": {"labels": {"tier": "a"}}}),
                by("kubectl-label"),
            )
            .await
            .unwrap();
        assert_eq!(owned(&labelled, "kubectl-label"), json!({"f:metadata": {"f:labels": {"f:tier": {}}}}));
        let same = deployments.update(Some("d"), "web", Value::Object(labelled.clone()), by("someone")).await.unwrap();
        assert_eq!(same, labelled);
        // Status writes are recorded with their subresource and own only status.
        let mut status = Value::Object(labelled.clone());
        status["status"] = json!({"replicas": 1});
        let with_status = deployments.update_status(Some("d"), "web", status, by("controller")).await.unwrap();
        assert!(entries(&with_status).contains(&("controller".into(), "Update".into(), "status".into())));
        assert_eq!(owned(&with_status, "controller"), json!({"f:status": {"f:replicas": {}}}));
        // Scale writes too.
        let scaled =
            deployments.update_scale(Some("d"), "web", json!({"spec": {"replicas": 4}}), by("kubectl")).await.unwrap();
        assert_eq!(scaled["spec"]["replicas"], 4);
        let parent = deployments.get(Some("d"), "web", None).await.unwrap();
        assert!(entries(&parent).contains(&("kubectl".into(), "Update".into(), "scale".into())));
        assert!(owned(&parent, "kubectl-create")["f:spec"].get("f:replicas").is_none(), "replicas moved to the scaler");
        // A client may rewrite managedFields, or clear them with [{}].
        let mut cleared = Value::Object(parent.clone());
        cleared["metadata"]["managedFields"] = json!([{}]);
        let cleared = deployments.update(Some("d"), "web", cleared, by("kubectl-edit")).await.unwrap();
        assert!(cleared["metadata"].get("managedFields").is_none(), "{:?}", cleared["metadata"]);
        // Server-side apply to status owns status fields only.
        let status_config = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 100}, "status": {"replicas": 2}});
        let applied = updated(deployments.apply_status(Some("d"), "web", &status_config, by("ctrl")).await.unwrap());
        assert_eq!((applied["status"]["replicas"].clone(), applied["spec"]["replicas"].clone()), (json!(2), json!(4)));
        assert_eq!(owned(&applied, "ctrl"), json!({"f:status": {"f:replicas": {}}}));
        assert_eq!(entries(&applied), [("ctrl".into(), "Apply".into(), "status".into())]);
    }
}

/// One HPA, two versions: v2 is stored, v1 reads and writes it through conversion, and what
/// v1 cannot express survives a v1 update.
#[tokio::test]
async fn horizontal_pod_autoscalers_are_served_as_v2_and_v1() {
    let store = store();
    let all = apiserver_registry::resources::all();
    let hpa = |version: &str| {
        let strategy = all
            .iter()
            .find(|s| s.resource().plural == "horizontalpodautoscalers" && s.resource().version == version)
            .expect("served")
            .clone();
        Registry::new(strategy, store.clone())
    };
    let (v2, v1) = (hpa("v2"), hpa("v1"));
    let body = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5,
                 "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}}},
                 ]},
    });
    v2.create(Some("default"), body, WRITE).await.unwrap();
    let mut as_v1 = v1.get(Some("default"), "web", None).await.unwrap();
    assert_eq!(as_v1["apiVersion"], "autoscaling/v1");
    assert_eq!(as_v1["spec"]["targetCPUUtilizationPercentage"], 60);
    as_v1["spec"]["targetCPUUtilizationPercentage"] = json!(75);
    v1.update(Some("default"), "web", Value::Object(as_v1), WRITE).await.unwrap();
    let back = v2.get(Some("default"), "web", None).await.unwrap();
    let metrics = back["spec"]["metrics"].as_array().unwrap();
    assert_eq!(metrics[0]["resource"]["target"]["averageUtilization"], 75);
    assert_eq!(metrics[1]["resource"]["name"], "memory", "the memory target survived a v1 update");
    assert!(back["metadata"].get("annotations").is_none(), "conversion annotations never reach storage");
    let listed = v1.list(Some("default"), ListOptions::default()).await.unwrap();
    assert_eq!(listed["kind"], "HorizontalPodAutoscalerList");
    assert_eq!(listed["items"][0]["apiVersion"], "autoscaling/v1");
}

/// The JSON list made of stored bytes is the same list as the decoded one.
#[tokio::test]
async fn list_json_equals_the_decoded_list() {
    let store = store();
    let configmaps = registry(ConfigMaps, &store);
    for i in 0..5 {
        configmaps.create(Some("default"), cm(&format!("c{i}"), json!({"n": i.to_string()})), WRITE).await.unwrap();
    }
    configmaps.create(Some("other"), cm("elsewhere", json!({})), WRITE).await.unwrap();
    for options in [
        ListOptions::default(),
        ListOptions { label_selector: Some("n in (1,3)"), ..ListOptions::default() },
        ListOptions { read: ReadParams { limit: Some(2), ..ReadParams::default() }, ..ListOptions::default() },
    ] {
        for namespace in [Some("default"), None] {
            let decoded = configmaps.list(namespace, options).await.unwrap();
            let raw: Value = serde_json::from_slice(&configmaps.list_json(namespace, options).await.unwrap()).unwrap();
            assert_eq!(raw, decoded);
        }
    }
}

/// A Service's creator owns what it sent, not the cluster IP and node port allocated for it.
#[tokio::test]
async fn allocated_addresses_are_not_owned_by_the_creator() {
    let store = store();
    let services = registry(apiserver_registry::resources::core::Services, &store);
    let body = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                      "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]}});
    let options = WriteOptions { field_manager: Some("creator".into()), ..WRITE };
    let created = services.create(Some("default"), body, options).await.unwrap();
    assert!(created["spec"]["clusterIP"].as_str().is_some_and(|ip| !ip.is_empty()));
    let entries = created["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["manager"], "creator");
    let owned = &entries[0]["fieldsV1"]["f:spec"];
    assert!(owned.get("f:selector").is_some(), "{owned}");
    assert!(owned.get("f:clusterIP").is_none() && owned.get("f:clusterIPs").is_none(), "{owned}");
}

/// Events: one resource stored once (as core `v1` Events) and served in two groups.
mod events {
    use std::time::Duration;

    use apiserver_registry::resources::events::{EventsV1, core_events};
    use apiserver_registry::{EventStream, PatchType, WatchEvent, WatchOptions};
    use futures::StreamExt;

    use super::*;

    fn both(store: &Arc<dyn Store>) -> (Registry, Registry) {
        (registry(core_events(), store), registry(EventsV1::default(), store))
    }

    /// An `events.k8s.io/v1` event as kube-rs's `Recorder` writes it.
    fn recorded(name: &str, about: &str) -> Value {
        json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name},
               "eventTime": "2026-01-01T10:00:00.000001Z", "reportingController": "example.com/ctl",
               "reportingInstance": "ctl-1", "action": "Reconcile", "reason": "Ready", "type": "Normal",
               "note": format!("{about} is ready"),
               "regarding": {"apiVersion": "v1", "kind": "Pod", "name": about, "namespace": "default"}})
    }

    /// A core `v1` event as client-go's old recorder writes it.
    fn legacy(name: &str, about: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
               "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": about, "namespace": "default"},
               "reason": "Pulled", "message": format!("pulled for {about}"), "type": "Normal", "count": 2,
               "source": {"component": "kubelet", "host": "n1"}, "firstTimestamp": "2026-01-01T10:00:00Z",
               "lastTimestamp": "2026-01-01T10:01:00Z"})
    }

    async fn next(stream: &mut EventStream) -> WatchEvent {
        tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("an event within 10 s").expect("open")
    }

    fn watch_from<'a>(rv: &'a str, fields: Option<&'static str>) -> WatchOptions<'a> {
        WatchOptions {
            read: ReadParams { resource_version: Some(rv), ..ReadParams::default() },
            label_selector: None,
            field_selector: fields,
            json_lines: false,
        }
    }

    fn names(list: &Value) -> Vec<&str> {
        list["items"].as_array().unwrap().iter().map(|i| i["metadata"]["name"].as_str().unwrap()).collect()
    }

    #[tokio::test]
    async fn an_event_written_in_one_group_is_read_listed_and_deleted_in_the_other() {
        let store = store();
        let (core, v1) = both(&store);
        v1.create(Some("default"), recorded("web.1", "web"), WRITE).await.unwrap();
        let as_core = core.get(Some("default"), "web.1", None).await.unwrap();
        assert_eq!(as_core["apiVersion"], "v1");
        assert_eq!(as_core["involvedObject"]["name"], "web");
        assert_eq!(as_core["message"], "web is ready");
        assert_eq!(as_core["reportingComponent"], "example.com/ctl");
        assert_eq!(as_core["eventTime"], "2026-01-01T10:00:00.000001Z");

        core.create(Some("default"), legacy("db.1", "db"), WRITE).await.unwrap();
        let as_v1 = v1.get(Some("default"), "db.1", None).await.unwrap();
        assert_eq!(as_v1["apiVersion"], "events.k8s.io/v1");
        assert_eq!(as_v1["regarding"]["name"], "db");
        assert_eq!(as_v1["note"], "pulled for db");
        assert_eq!(as_v1["deprecatedCount"], 2);
        assert_eq!(as_v1["deprecatedSource"]["component"], "kubelet");

        // One store: both lists hold both events, each in its own group's form, under the core
        // events' keys only.
        for (registry, api_version) in [(&core, "v1"), (&v1, "events.k8s.io/v1")] {
            let list = registry.list(Some("default"), ListOptions::default()).await.unwrap();
            assert_eq!((list["apiVersion"].as_str(), list["kind"].as_str()), (Some(api_version), Some("EventList")));
            assert_eq!(names(&list), ["db.1", "web.1"]);
            assert!(list["items"].as_array().unwrap().iter().all(|i| i["apiVersion"] == api_version));
        }
        let stored = store.list(b"/registry/core/events/default/", Default::default()).await.unwrap();
        assert_eq!(stored.items.len(), 2);
        assert!(store.list(b"/registry/events.k8s.io/", Default::default()).await.unwrap().items.is_empty());

        // A core update of the events.k8s.io event (legacy rules) shows through events.k8s.io.
        let mut update = as_core.clone();
        update.insert("count".into(), json!(3));
        core.update(Some("default"), "web.1", Value::Object(update), WRITE).await.unwrap();
        assert_eq!(v1.get(Some("default"), "web.1", None).await.unwrap()["deprecatedCount"], 3);
        v1.delete(Some("default"), "db.1", &DeleteOptions::default()).await.unwrap();
        assert_eq!(core.get(Some("default"), "db.1", None).await.unwrap_err().code(), 404);
    }

    #[tokio::test]
    async fn field_selectors_use_each_groups_field_names() {
        let store = store();
        let (core, v1) = both(&store);
        v1.create(Some("default"), recorded("web.1", "web"), WRITE).await.unwrap();
        core.create(Some("default"), legacy("db.1", "db"), WRITE).await.unwrap();
        let select = |fields: &'static str| ListOptions { field_selector: Some(fields), ..ListOptions::default() };
        let about_web = v1.list(None, select("regarding.name=web")).await.unwrap();
        assert_eq!(names(&about_web), ["web.1"]);
        let by_controller = v1.list(None, select("reportingController=example.com/ctl")).await.unwrap();
        assert_eq!(names(&by_controller), ["web.1"]);
        let by_component = core.list(None, select("reportingComponent=example.com/ctl")).await.unwrap();
        assert_eq!(names(&by_component), ["web.1"], "reportingController is the core reportingComponent");
        assert_eq!(names(&core.list(None, select("involvedObject.name=db")).await.unwrap()), ["db.1"]);
        // `source` is the source component, else the reporting controller.
        assert_eq!(names(&core.list(None, select("source=kubelet")).await.unwrap()), ["db.1"]);
        assert_eq!(names(&core.list(None, select("source=example.com/ctl")).await.unwrap()), ["web.1"]);
        let err = v1.list(None, select("involvedObject.name=db")).await.unwrap_err();
        assert_eq!((err.code(), err.to_string().as_str()), (400, "field label not supported: involvedObject.name"));
    }

    #[tokio::test]
    async fn watches_in_one_group_see_writes_in_the_other() {
        let store = store();
        let (core, v1) = both(&store);
        let from = store.current_revision().to_string();
        let mut v1_watch = v1.watch(Some("default"), watch_from(&from, Some("regarding.name=db"))).await.unwrap();
        let mut core_watch = core.watch(Some("default"), watch_from(&from, None)).await.unwrap();
        core.create(Some("default"), legacy("web.1", "web"), WRITE).await.unwrap();
        core.create(Some("default"), legacy("db.1", "db"), WRITE).await.unwrap();
        let added = next(&mut v1_watch).await;
        assert_eq!(added.kind, "ADDED");
        assert_eq!(added.object["apiVersion"], "events.k8s.io/v1");
        assert_eq!(
            (added.object["metadata"]["name"].as_str(), added.object["note"].as_str()),
            (Some("db.1"), Some("pulled for db"))
        );
        v1.create(Some("default"), recorded("api.1", "api"), WRITE).await.unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let event = next(&mut core_watch).await;
            assert_eq!(event.object["apiVersion"], "v1");
            seen.push((event.kind, event.object["involvedObject"]["name"].as_str().unwrap().to_string()));
        }
        assert_eq!(seen, [("ADDED", "web".into()), ("ADDED", "db".into()), ("ADDED", "api".into())]);
        core.delete(Some("default"), "db.1", &DeleteOptions::default()).await.unwrap();
        let deleted = next(&mut v1_watch).await;
        assert_eq!((deleted.kind, deleted.object["regarding"]["name"].as_str()), ("DELETED", Some("db")));
    }

    #[tokio::test]
    async fn events_k8s_io_writes_pass_the_strict_rules_and_core_writes_the_legacy_ones() {
        let store = store();
        let (core, v1) = both(&store);
        let sloppy = json!({"metadata": {"name": "bad.1"}, "type": "Info", "deprecatedCount": 1,
                            "series": {"count": 1, "lastObservedTime": "2026-01-01T10:00:00.000000Z"},
                            "regarding": {"kind": "Pod", "name": "web", "namespace": "default"}});
        let err = v1.create(Some("default"), sloppy, WRITE).await.unwrap_err();
        assert_eq!((err.code(), err.reason()), (422, "Invalid"));
        assert_eq!(
            causes(&err),
            [
                ("series.count", "FieldValueInvalid"),
                ("eventTime", "FieldValueRequired"),
                ("type", "FieldValueInvalid"),
                ("count", "FieldValueInvalid"),
            ]
            .map(|(f, r)| (f.to_string(), r.to_string()))
        );
        assert!(err.to_string().starts_with("Event.events.k8s.io \"bad.1\" is invalid: ["), "{err}");

        // A new-style event without its reporter: the legacy rules refuse it in both groups.
        let mut anonymous = recorded("anon.1", "web");
        for field in ["reportingController", "reportingInstance", "action"] {
            anonymous.as_object_mut().unwrap().remove(field);
        }
        let err = v1.create(Some("default"), anonymous, WRITE).await.unwrap_err();
        let fields: Vec<String> = causes(&err).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["reportingController", "reportingController", "reportingInstance", "action"]);
        // An old-style event in another namespace than its object.
        let err = core.create(Some("team"), legacy("x.1", "x"), WRITE).await.unwrap_err();
        assert_eq!(causes(&err), [("involvedObject.namespace".to_string(), "FieldValueInvalid".to_string())]);

        // Updates through events.k8s.io may move the series, not change what the event says;
        // core updates may.
        v1.create(Some("default"), recorded("web.1", "web"), WRITE).await.unwrap();
        let series = json!({"series": {"count": 2, "lastObservedTime": "2026-01-01T10:05:00.000000Z"}});
        v1.patch(Some("default"), "web.1", PatchType::Merge, &series, WRITE).await.unwrap();
        let err = v1.patch(Some("default"), "web.1", PatchType::Merge, &json!({"note": "changed"}), WRITE).await;
        let err = err.unwrap_err();
        assert_eq!(causes(&err), [("message".to_string(), "FieldValueInvalid".to_string())]);
        core.patch(Some("default"), "web.1", PatchType::Merge, &json!({"message": "changed"}), WRITE).await.unwrap();
        let stored = v1.get(Some("default"), "web.1", None).await.unwrap();
        assert_eq!((stored["note"].as_str(), stored["series"]["count"].as_i64()), (Some("changed"), Some(2)));
    }
}
