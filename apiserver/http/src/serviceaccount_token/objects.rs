//! The objects service account tokens name (the service account, and the pod, secret or node a
//! token is bound to), read from their registries: issuing a token checks they exist, and
//! every authentication with one checks they still do, with the same uid.

use apiserver_machinery::{ApiError, GroupResource};
use apiserver_registry::Registry;
use serde_json::{Map, Value};

use super::claims::LEEWAY_SECONDS;

/// A kind of object a token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// `v1 ServiceAccount`.
    ServiceAccount,
    /// `v1 Pod`.
    Pod,
    /// `v1 Secret`.
    Secret,
    /// `v1 Node` (cluster-scoped).
    Node,
}

impl ObjectKind {
    const ALL: [Self; 4] = [Self::ServiceAccount, Self::Pod, Self::Secret, Self::Node];

    fn plural(self) -> &'static str {
        match self {
            Self::ServiceAccount => "serviceaccounts",
            Self::Pod => "pods",
            Self::Secret => "secrets",
            Self::Node => "nodes",
        }
    }
}

/// Read access to the objects of [`ObjectKind`] (each a core/v1 registry; a kind whose
/// registry is not served has no objects).
#[derive(Debug, Clone, Default)]
pub struct TokenObjects {
    registries: [Option<Registry>; 4],
}

impl TokenObjects {
    /// The registries of service accounts, pods, secrets and nodes among `registries`.
    pub fn new<'a>(registries: impl IntoIterator<Item = &'a Registry>) -> Self {
        let mut objects = Self::default();
        for registry in registries {
            let info = registry.resource();
            if let Some(i) = ObjectKind::ALL.iter().position(|k| (info.group, info.plural) == ("", k.plural())) {
                objects.registries[i] = Some(registry.clone());
            }
        }
        objects
    }

    /// The object `name` of `kind` (in `namespace` unless the kind is cluster-scoped); 404 as
    /// the registry says it (`serviceaccounts "robot" not found`).
    pub async fn get(&self, kind: ObjectKind, namespace: &str, name: &str) -> Result<Map<String, Value>, ApiError> {
        let index = ObjectKind::ALL.iter().position(|k| *k == kind).expect("every kind is listed");
        let Some(registry) = &self.registries[index] else {
            return Err(ApiError::not_found(GroupResource { group: "", resource: kind.plural() }, name));
        };
        let namespace = (kind != ObjectKind::Node).then_some(namespace);
        registry.get(namespace, name, None).await
    }
}

/// An object's `metadata.uid` ("" when absent).
pub fn uid(object: &Map<String, Value>) -> &str {
    object.get("metadata").and_then(|m| m.get("uid")).and_then(Value::as_str).unwrap_or_default()
}

/// Whether an object's deletion began more than [`LEEWAY_SECONDS`] before `now` (upstream
/// ignores deletions newer than that, and the future deletion time of a pod still shutting
/// down).
pub fn deleted_before_leeway(object: &Map<String, Value>, now: i64) -> bool {
    let deletion = object.get("metadata").and_then(|m| m.get("deletionTimestamp")).and_then(Value::as_str);
    deletion
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .is_some_and(|deleted| deleted.as_second() < now - LEEWAY_SECONDS)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn deletion_counts_once_it_is_older_than_the_leeway() {
        let object = |meta: Value| json!({"metadata": meta}).as_object().unwrap().clone();
        let now = "2026-01-01T00:10:00Z".parse::<jiff::Timestamp>().unwrap().as_second();
        assert!(!deleted_before_leeway(&object(json!({"uid": "u"})), now));
        assert!(!deleted_before_leeway(&object(json!({"deletionTimestamp": "2026-01-01T00:09:30Z"})), now));
        assert!(!deleted_before_leeway(&object(json!({"deletionTimestamp": "2026-01-01T00:10:30Z"})), now));
        assert!(deleted_before_leeway(&object(json!({"deletionTimestamp": "2026-01-01T00:08:59Z"})), now));
        assert_eq!(uid(&object(json!({"uid": "u"}))), "u");
    }
}
