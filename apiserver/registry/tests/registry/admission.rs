//! Admission through the server's registries (`Registry::all`): namespace lifecycle and pod
//! priority, the checks that read other objects than the one written.

use std::sync::Arc;

use apiserver_machinery::ApiError;
use apiserver_registry::{DeleteOptions, PatchType, Registry, WriteOptions};
use apiserver_store::Store;
use serde_json::{Value, json};

use super::{WRITE, store};

struct Server {
    registries: Vec<Registry>,
}

impl Server {
    async fn start() -> Self {
        let store: Arc<dyn Store> = store();
        let server = Self { registries: Registry::all(&store) };
        server.registry("namespaces").create(None, json!({"metadata": {"name": "default"}}), WRITE).await.unwrap();
        server
    }

    fn registry(&self, plural: &str) -> &Registry {
        self.registries.iter().find(|r| r.resource().plural == plural && r.resource().group != "events.k8s.io").unwrap()
    }

    async fn create_pod(&self, name: &str, spec: Value) -> Result<Value, ApiError> {
        let mut spec = spec;
        spec["containers"] = json!([{"name": "c", "image": "nginx"}]);
        let pod = json!({"metadata": {"name": name}, "spec": spec});
        self.registry("pods").create(Some("default"), pod, WRITE).await.map(Value::Object)
    }

    async fn create_class(&self, name: &str, value: i64, extra: Value) -> Result<Value, ApiError> {
        let mut class = json!({"metadata": {"name": name}, "value": value});
        if let (Some(class), Some(extra)) = (class.as_object_mut(), extra.as_object()) {
            class.extend(extra.clone());
        }
        self.registry("priorityclasses").create(None, class, WRITE).await.map(Value::Object)
    }
}

fn cm(name: &str) -> Value {
    json!({"metadata": {"name": name}, "data": {"k": "v"}})
}

fn cause_reasons(err: &ApiError) -> Vec<(String, String)> {
    let causes = err.status().details.as_ref().and_then(|d| d.causes.clone()).unwrap_or_default();
    causes.into_iter().map(|c| (c.reason.unwrap_or_default(), c.field.unwrap_or_default())).collect()
}

#[tokio::test]
async fn nothing_is_written_into_a_missing_namespace() {
    let server = Server::start().await;
    let configmaps = server.registry("configmaps");
    let err = configmaps.create(Some("nope"), cm("a"), WRITE).await.unwrap_err();
    assert_eq!((err.code(), err.to_string()), (404, "namespaces \"nope\" not found".to_string()));
    let err = configmaps.update(Some("nope"), "a", cm("a"), WRITE).await.unwrap_err();
    assert_eq!(err.to_string(), "namespaces \"nope\" not found");
    let patch = json!({"data": {"k": "w"}});
    let err = configmaps.patch(Some("nope"), "a", PatchType::Merge, &patch, WRITE).await.unwrap_err();
    assert_eq!(err.to_string(), "namespaces \"nope\" not found");
    // In a namespace that exists, a missing object is still the object's 404.
    let err = configmaps.patch(Some("default"), "a", PatchType::Merge, &patch, WRITE).await.unwrap_err();
    assert_eq!(err.to_string(), "configmaps \"a\" not found");
    // Cluster-scoped resources have no namespace to check.
    server.create_class("free", 5, json!({})).await.unwrap();
}

#[tokio::test]
async fn a_terminating_namespace_takes_no_new_content_but_keeps_its_objects_writable() {
    let server = Server::start().await;
    let namespaces = server.registry("namespaces");
    namespaces.create(None, json!({"metadata": {"name": "leaving"}}), WRITE).await.unwrap();
    let configmaps = server.registry("configmaps");
    configmaps.create(Some("leaving"), cm("kept"), WRITE).await.unwrap();
    // The namespace's `kubernetes` finalizer keeps it Terminating until its controller empties it.
    namespaces.delete(None, "leaving", &DeleteOptions::default()).await.unwrap();

    let err = configmaps.create(Some("leaving"), cm("new"), WRITE).await.unwrap_err();
    assert_eq!(err.code(), 403);
    assert_eq!(
        err.to_string(),
        "configmaps \"new\" is forbidden: unable to create new content in namespace leaving because it is being terminated"
    );
    assert_eq!(cause_reasons(&err), vec![("NamespaceTerminating".to_string(), "metadata.namespace".to_string())]);
    let generated = json!({"metadata": {"generateName": "gen-"}, "data": {}});
    let err = configmaps.create(Some("leaving"), generated, WRITE).await.unwrap_err();
    assert!(err.to_string().starts_with("configmaps \"gen-\" is forbidden"), "{err}");

    let patch = json!({"data": {"k": "changed"}});
    configmaps.patch(Some("leaving"), "kept", PatchType::Merge, &patch, WRITE).await.unwrap();
    configmaps.delete(Some("leaving"), "kept", &DeleteOptions::default()).await.unwrap();
}

#[tokio::test]
async fn immortal_namespaces_and_system_priority_classes_are_never_deleted() {
    let server = Server::start().await;
    let err = server.registry("namespaces").delete(None, "default", &DeleteOptions::default()).await.unwrap_err();
    assert_eq!(
        (err.code(), err.to_string()),
        (403, "namespaces \"default\" is forbidden: this namespace may not be deleted".to_string())
    );
    server.create_class("system-node-critical", 2_000_001_000, json!({})).await.unwrap();
    let classes = server.registry("priorityclasses");
    let err = classes.delete(None, "system-node-critical", &DeleteOptions::default()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "priorityclasses.scheduling.k8s.io \"system-node-critical\" is forbidden: this is a system priority class and cannot be deleted"
    );
    server.create_class("mine", 7, json!({})).await.unwrap();
    classes.delete(None, "mine", &DeleteOptions::default()).await.unwrap();
}

#[tokio::test]
async fn pods_get_their_priority_from_their_class() {
    let server = Server::start().await;
    let plain = server.create_pod("plain", json!({})).await.unwrap();
    assert_eq!(plain["spec"]["priority"], 0);
    assert_eq!(plain["spec"]["preemptionPolicy"], "PreemptLowerPriority");
    assert_eq!(plain["spec"].get("priorityClassName"), None);

    server.create_class("high", 1000, json!({})).await.unwrap();
    server.create_class("polite", 500, json!({"preemptionPolicy": "Never"})).await.unwrap();
    let high = server.create_pod("high", json!({"priorityClassName": "high"})).await.unwrap();
    assert_eq!(
        (high["spec"]["priority"].clone(), high["spec"]["preemptionPolicy"].clone()),
        (json!(1000), json!("PreemptLowerPriority"))
    );
    let polite = server.create_pod("polite", json!({"priorityClassName": "polite"})).await.unwrap();
    assert_eq!(
        (polite["spec"]["priority"].clone(), polite["spec"]["preemptionPolicy"].clone()),
        (json!(500), json!("Never"))
    );
    // The same value as the class computes is accepted.
    server.create_pod("same", json!({"priorityClassName": "high", "priority": 1000})).await.unwrap();

    let err = server.create_pod("lost", json!({"priorityClassName": "missing"})).await.unwrap_err();
    assert_eq!(
        (err.code(), err.to_string()),
        (403, "pods \"lost\" is forbidden: no PriorityClass with name missing was found".to_string())
    );
    let err = server.create_pod("cheat", json!({"priorityClassName": "high", "priority": 5000})).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "pods \"cheat\" is forbidden: the integer value of priority (5000) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name"
    );
    let err = server
        .create_pod("rude", json!({"priorityClassName": "polite", "preemptionPolicy": "PreemptLowerPriority"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the string value of PreemptionPolicy (PreemptLowerPriority) must not be provided in pod spec; priority admission controller computed Never"), "{err}");

    // An update that leaves the computed fields out keeps them.
    let mut body = high.clone();
    body["spec"].as_object_mut().unwrap().remove("priority");
    body["spec"].as_object_mut().unwrap().remove("preemptionPolicy");
    body["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    let updated = server.registry("pods").update(Some("default"), "high", body, WRITE).await.unwrap();
    assert_eq!(updated["spec"]["priority"], 1000);
}

#[tokio::test]
async fn the_global_default_class_applies_to_pods_without_one_and_is_unique() {
    let server = Server::start().await;
    server.create_class("everyday", 100, json!({"globalDefault": true})).await.unwrap();
    let err = server.create_class("another", 200, json!({"globalDefault": true})).await.unwrap_err();
    assert_eq!(
        (err.code(), err.to_string()),
        (
            403,
            "priorityclasses.scheduling.k8s.io \"another\" is forbidden: PriorityClass everyday is already marked as default. Only one default can exist".to_string()
        )
    );
    let classes = server.registry("priorityclasses");
    let other = server.create_class("other", 300, json!({})).await.unwrap();
    let mut promote = other.clone();
    promote["globalDefault"] = json!(true);
    let err = classes.update(None, "other", promote, WRITE).await.unwrap_err();
    assert_eq!(err.code(), 403);
    // The default itself may be updated.
    let patch = json!({"description": "most pods"});
    classes.patch(None, "everyday", PatchType::Merge, &patch, WRITE).await.unwrap();

    let pod = server.create_pod("p", json!({})).await.unwrap();
    assert_eq!(
        (pod["spec"]["priorityClassName"].clone(), pod["spec"]["priority"].clone()),
        (json!("everyday"), json!(100))
    );
}

#[tokio::test]
async fn registries_alone_skip_admission() {
    let store = store();
    let configmaps = Registry::new(Arc::new(apiserver_registry::resources::core::ConfigMaps), store);
    configmaps.create(Some("anywhere"), cm("a"), WriteOptions::default()).await.unwrap();
}
