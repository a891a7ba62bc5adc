//! Admission: the checks of upstream's built-in admission plugins that read other objects than
//! the one written, so no strategy can make them. The registry runs them on every write:
//!
//! - NamespaceLifecycle: nothing is written into a namespace that does not exist (404
//!   `namespaces "x" not found`), nothing is created in one that is terminating (403 with a
//!   `NamespaceTerminating` cause), and `default`, `kube-system`, `kube-public` are never deleted.
//! - Priority: a new pod's `spec.priority` and `preemptionPolicy` come from its
//!   `priorityClassName` (403 for an unknown class), or from the global default class, else 0;
//!   one PriorityClass at most is the global default; the system classes are never deleted.
//!
//! Reads go to the store directly (these objects are few and small), at the latest revision.

use apiserver_machinery::resources::ResourceInfo;
use apiserver_machinery::{ApiError, GroupResource};
use apiserver_store::{ListOptions, Store, StoreError};
use serde_json::{Value, json};

use crate::keys;
use crate::object::{Object, meta_str};

/// Namespaces that are never deleted (upstream's immortal namespaces).
pub const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// A PriorityClass the server creates at start and never lets go.
#[derive(Debug, Clone, Copy)]
pub struct SystemPriorityClass {
    pub name: &'static str,
    pub value: i64,
    pub description: &'static str,
}

/// Upstream's two system priority classes.
pub const SYSTEM_PRIORITY_CLASSES: [SystemPriorityClass; 2] = [
    SystemPriorityClass {
        name: "system-node-critical",
        value: 2_000_001_000,
        description: "Used for system critical pods that must not be moved from their current node.",
    },
    SystemPriorityClass {
        name: "system-cluster-critical",
        value: 2_000_000_000,
        description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    },
];

/// The preemption policy of a pod whose class names none (upstream's default).
const PREEMPT_LOWER_PRIORITY: &str = "PreemptLowerPriority";

const NAMESPACES: GroupResource<'static> = GroupResource { group: "", resource: "namespaces" };

fn group_resource(resource: &ResourceInfo) -> GroupResource<'static> {
    GroupResource { group: resource.group, resource: resource.plural }
}

/// The name an admission error gives a new object: its name, else its generateName.
fn name_for_errors(obj: &Object) -> &str {
    match meta_str(obj, "name") {
        "" => meta_str(obj, "generateName"),
        name => name,
    }
}

/// A namespace's `status.phase` (empty when unset), or `None` when the namespace does not
/// exist. Every namespaced create asks, so only the phase is decoded.
async fn namespace_phase(store: &dyn Store, ns: &str) -> Result<Option<String>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Namespace {
        #[serde(default)]
        status: Option<Status>,
    }
    #[derive(serde::Deserialize)]
    struct Status {
        #[serde(default)]
        phase: Option<String>,
    }
    let namespace: Option<Namespace> = read(store, &keys::object("", "namespaces", None, ns)).await?;
    Ok(namespace.map(|n| n.status.and_then(|s| s.phase).unwrap_or_default()))
}

/// The stored object at `key`, decoded as `T`; `None` when there is none.
async fn read<T: serde::de::DeserializeOwned>(store: &dyn Store, key: &str) -> Result<Option<T>, ApiError> {
    match store.get(key.as_bytes(), 0).await {
        Ok(kv) => serde_json::from_slice(&kv.value).map(Some).map_err(ApiError::internal),
        Err(StoreError::NotFound) => Ok(None),
        Err(err) => Err(ApiError::internal(err)),
    }
}

/// The checks of a create, in upstream's plugin order; they may complete the object.
pub(crate) async fn admit_create(
    store: &dyn Store,
    resource: &ResourceInfo,
    namespace: Option<&str>,
    obj: &mut Object,
) -> Result<(), ApiError> {
    if let Some(ns) = namespace.filter(|_| resource.namespaced) {
        let Some(phase) = namespace_phase(store, ns).await? else {
            return Err(ApiError::not_found(NAMESPACES, ns));
        };
        if phase == "Terminating" {
            let why = format!("unable to create new content in namespace {ns} because it is being terminated");
            return Err(ApiError::forbidden(group_resource(resource), name_for_errors(obj), &why).with_cause(
                "NamespaceTerminating",
                &format!("namespace {ns} is being terminated"),
                "metadata.namespace",
            ));
        }
    }
    match (resource.group, resource.plural) {
        ("", "pods") => resolve_priority(store, resource, obj).await,
        ("scheduling.k8s.io", "priorityclasses") => only_one_default(store, resource, obj).await,
        _ => Ok(()),
    }
}

/// The checks of an update (`new` may be completed from `old`).
pub(crate) async fn admit_update(
    store: &dyn Store,
    resource: &ResourceInfo,
    new: &mut Object,
    old: &Object,
) -> Result<(), ApiError> {
    match (resource.group, resource.plural) {
        // Priority admission set these on create; an update that leaves them out keeps them.
        ("", "pods") => {
            if let (Some(Value::Object(spec)), Some(old_spec)) = (new.get_mut("spec"), old.get("spec")) {
                for field in ["priority", "preemptionPolicy"] {
                    if spec.get(field).is_none_or(Value::is_null)
                        && let Some(value) = old_spec.get(field).filter(|v| !v.is_null())
                    {
                        spec.insert(field.into(), value.clone());
                    }
                }
            }
            Ok(())
        }
        ("scheduling.k8s.io", "priorityclasses") => only_one_default(store, resource, new).await,
        _ => Ok(()),
    }
}

/// The error for a write to an object that is not stored, when its namespace is missing too:
/// upstream's NamespaceLifecycle answers before the registry looks, naming the namespace.
pub(crate) async fn missing_namespace(
    store: &dyn Store,
    resource: &ResourceInfo,
    namespace: Option<&str>,
) -> Option<ApiError> {
    let ns = namespace.filter(|_| resource.namespaced)?;
    match namespace_phase(store, ns).await {
        Ok(None) => Some(ApiError::not_found(NAMESPACES, ns)),
        _ => None,
    }
}

/// The checks of a delete.
pub(crate) fn admit_delete(resource: &ResourceInfo, name: &str) -> Result<(), ApiError> {
    match (resource.group, resource.plural) {
        ("", "namespaces") if IMMORTAL_NAMESPACES.contains(&name) => {
            Err(ApiError::forbidden(NAMESPACES, name, "this namespace may not be deleted"))
        }
        ("scheduling.k8s.io", "priorityclasses") if SYSTEM_PRIORITY_CLASSES.iter().any(|c| c.name == name) => {
            Err(ApiError::forbidden(
                group_resource(resource),
                name,
                "this is a system priority class and cannot be deleted",
            ))
        }
        _ => Ok(()),
    }
}

/// A PriorityClass as admission needs it.
struct Class {
    name: String,
    value: i64,
    preemption_policy: String,
}

impl Class {
    fn of(obj: &Object) -> Self {
        Self {
            name: meta_str(obj, "name").to_string(),
            value: obj.get("value").and_then(Value::as_i64).unwrap_or(0),
            preemption_policy: obj
                .get("preemptionPolicy")
                .and_then(Value::as_str)
                .unwrap_or(PREEMPT_LOWER_PRIORITY)
                .to_string(),
        }
    }
}

/// The global default PriorityClass: if a race let two in, the lower value (as upstream).
async fn global_default(store: &dyn Store) -> Result<Option<Class>, ApiError> {
    let prefix = keys::prefix("scheduling.k8s.io", "priorityclasses", None);
    let page = store.list(prefix.as_bytes(), ListOptions::default()).await.map_err(ApiError::internal)?;
    let mut found: Option<Class> = None;
    for kv in &page.items {
        let Ok(obj) = serde_json::from_slice::<Object>(&kv.value) else { continue };
        if obj.get("globalDefault").and_then(Value::as_bool) == Some(true) {
            let class = Class::of(&obj);
            if found.as_ref().is_none_or(|f| f.value > class.value) {
                found = Some(class);
            }
        }
    }
    Ok(found)
}

/// Priority admission of a new pod.
async fn resolve_priority(store: &dyn Store, resource: &ResourceInfo, pod: &mut Object) -> Result<(), ApiError> {
    let forbidden =
        |pod: &Object, why: String| ApiError::forbidden(group_resource(resource), name_for_errors(pod), &why);
    let spec = pod.get("spec");
    let class_name = spec.and_then(|s| s.get("priorityClassName")).and_then(Value::as_str).unwrap_or_default();
    let class = if class_name.is_empty() {
        global_default(store).await?
    } else {
        let key = keys::object("scheduling.k8s.io", "priorityclasses", None, class_name);
        match read(store, &key).await? {
            Some(obj) => Some(Class::of(&obj)),
            None => return Err(forbidden(pod, format!("no PriorityClass with name {class_name} was found"))),
        }
    };
    let (name, value, policy) = match &class {
        Some(class) => (class.name.as_str(), class.value, class.preemption_policy.as_str()),
        None => ("", 0, PREEMPT_LOWER_PRIORITY),
    };
    if let Some(given) = spec.and_then(|s| s.get("priority")).and_then(Value::as_i64)
        && given != value
    {
        let why = format!(
            "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {value} from the given PriorityClass name"
        );
        return Err(forbidden(pod, why));
    }
    if let Some(given) = spec.and_then(|s| s.get("preemptionPolicy")).and_then(Value::as_str)
        && given != policy
    {
        let why = format!(
            "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"
        );
        return Err(forbidden(pod, why));
    }
    let spec = pod.entry("spec").or_insert_with(|| json!({}));
    if let Value::Object(spec) = spec {
        if !name.is_empty() {
            spec.insert("priorityClassName".into(), json!(name));
        }
        spec.insert("priority".into(), json!(value));
        spec.insert("preemptionPolicy".into(), json!(policy));
    }
    Ok(())
}

/// At most one PriorityClass is the global default.
async fn only_one_default(store: &dyn Store, resource: &ResourceInfo, class: &Object) -> Result<(), ApiError> {
    if class.get("globalDefault").and_then(Value::as_bool) != Some(true) {
        return Ok(());
    }
    match global_default(store).await? {
        Some(existing) if existing.name != meta_str(class, "name") => Err(ApiError::forbidden(
            group_resource(resource),
            name_for_errors(class),
            &format!("PriorityClass {} is already marked as default. Only one default can exist", existing.name),
        )),
        _ => Ok(()),
    }
}
