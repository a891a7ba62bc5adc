//! The pod subresources that act rather than store: `binding` (the scheduler assigns a node)
//! and `eviction` (a policy-respecting delete; PodDisruptionBudgets are checked once their
//! controller exists, until then every eviction is allowed).

use apiserver_machinery::ApiError;
use apiserver_machinery::field::FieldError;
use apiserver_store::StoreError;
use serde_json::{Value, json};

use crate::object::{is_deleting, meta_str, now, set_meta};
use crate::registry::{DeleteOptions, Registry};

const ATTEMPTS: usize = 8;

impl Registry {
    fn require_pods(&self) -> Result<(), ApiError> {
        if (self.resource().group, self.resource().plural) == ("", "pods") {
            Ok(())
        } else {
            Err(ApiError::path_not_found())
        }
    }

    /// `POST pods/<name>/binding`: sets `spec.nodeName` (once) and the `PodScheduled` condition.
    pub async fn bind(&self, namespace: Option<&str>, name: &str, binding: &Value) -> Result<(), ApiError> {
        self.require_pods()?;
        let node = binding.pointer("/target/name").and_then(Value::as_str).unwrap_or_default();
        if node.is_empty() {
            let errors = [FieldError::required("target.name", "")].into_iter().collect();
            return Err(ApiError::invalid(
                apiserver_machinery::GroupKind { group: "", kind: "Binding" },
                name,
                &errors,
            ));
        }
        let resource = apiserver_machinery::GroupResource { group: "", resource: "pods/binding" };
        let key = self.object_key(namespace, name)?;
        for _ in 0..ATTEMPTS {
            let current = self.store().get(&key, 0).await.map_err(|e| self.store_error(e, name))?;
            let mut pod = self.decode(&current)?;
            if is_deleting(&pod) {
                return Err(ApiError::conflict(
                    resource,
                    name,
                    &format!("pod {name} is being deleted, cannot be assigned to a host"),
                ));
            }
            let assigned = pod.get("spec").and_then(|s| s.get("nodeName")).and_then(Value::as_str).unwrap_or("");
            if !assigned.is_empty() {
                return Err(ApiError::conflict(
                    resource,
                    name,
                    &format!("pod {name} is already assigned to node \"{assigned}\""),
                ));
            }
            pod.entry("spec").or_insert_with(|| json!({}))["nodeName"] = json!(node);
            if let Some(annotations) = binding.pointer("/metadata/annotations").and_then(Value::as_object) {
                let meta = crate::object::metadata_mut(&mut pod);
                let target = meta.entry("annotations").or_insert_with(|| json!({}));
                for (k, v) in annotations {
                    target[k] = v.clone();
                }
            }
            let status = pod.entry("status").or_insert_with(|| json!({}));
            let mut conditions: Vec<Value> =
                status.get("conditions").and_then(Value::as_array).cloned().unwrap_or_default();
            conditions.retain(|c| c.get("type").and_then(Value::as_str) != Some("PodScheduled"));
            conditions.push(
                json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now()}),
            );
            status["conditions"] = json!(conditions);
            set_meta(&mut pod, "resourceVersion", None);
            match self.store().update(key.clone(), self.encode(&pod), current.mod_revision).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(err) => return Err(self.store_error(err, name)),
            }
        }
        Err(ApiError::conflict(resource, name, ApiError::OBJECT_MODIFIED))
    }

    /// `POST pods/<name>/eviction`: deletes the pod as its `deleteOptions` say (gracefully by
    /// default).
    pub async fn evict(&self, namespace: Option<&str>, name: &str, options: DeleteOptions) -> Result<(), ApiError> {
        self.require_pods()?;
        let pod = self.get(namespace, name, None).await?;
        tracing::debug!(pod = meta_str(&pod, "name"), "evicting");
        self.delete(namespace, name, &options).await.map(drop)
    }
}
