//! The scale subresource (`autoscaling/v1 Scale`) of deployments, replicasets, statefulsets and
//! replicationcontrollers: a view of the parent's `spec.replicas`, `status.replicas` and
//! selector, written back through the parent's update path.

use apiserver_machinery::ApiError;
use serde_json::{Value, json};

use crate::WriteOptions;
use crate::object::Object;
use crate::patch::{self, PatchError, PatchType};
use crate::registry::Registry;

/// `metav1.LabelSelector` (or a replication controller's plain map) as selector text.
pub(crate) fn selector_text(selector: Option<&Value>) -> String {
    let Some(selector) = selector.and_then(Value::as_object) else { return String::new() };
    let plain = |map: &serde_json::Map<String, Value>| -> Vec<String> {
        map.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect()
    };
    if !selector.contains_key("matchLabels") && !selector.contains_key("matchExpressions") {
        return plain(selector).join(",");
    }
    let mut parts = selector.get("matchLabels").and_then(Value::as_object).map(plain).unwrap_or_default();
    for expression in selector.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = expression.get("key").and_then(Value::as_str).unwrap_or_default();
        let values: Vec<&str> = expression
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match expression.get("operator").and_then(Value::as_str).unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    parts.join(",")
}

/// The Scale view of a parent object.
fn scale_of(parent: &Object) -> Value {
    let spec = parent.get("spec").cloned().unwrap_or(json!({}));
    let mut metadata = json!({});
    for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(value) = parent.get("metadata").and_then(|m| m.get(field)) {
            metadata[field] = value.clone();
        }
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": spec.get("replicas").and_then(Value::as_i64).unwrap_or(1)},
        "status": {
            "replicas": parent.get("status").and_then(|s| s.get("replicas")).and_then(Value::as_i64).unwrap_or(0),
            "selector": selector_text(spec.get("selector")),
        },
    })
}

impl Registry {
    /// Whether this resource serves `scale`.
    pub fn has_scale(&self) -> bool {
        self.resource().subresource("scale").is_some()
    }

    /// `GET .../scale`.
    pub async fn get_scale(&self, namespace: Option<&str>, name: &str) -> Result<Value, ApiError> {
        Ok(scale_of(&self.get(namespace, name, None).await?))
    }

    /// `PUT .../scale`: sets `spec.replicas` (conditional on the Scale's resourceVersion, if any).
    pub async fn update_scale(
        &self,
        namespace: Option<&str>,
        name: &str,
        scale: Value,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        let replicas = scale
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .ok_or_else(|| ApiError::bad_request("Scale spec.replicas is required"))?;
        if replicas < 0 {
            let errors = [apiserver_machinery::field::FieldError::invalid(
                "spec.replicas",
                replicas,
                "must be greater than or equal to 0",
            )]
            .into_iter()
            .collect();
            return Err(ApiError::invalid(
                apiserver_machinery::GroupKind { group: "autoscaling", kind: "Scale" },
                name,
                &errors,
            ));
        }
        let mut parent = self.get(namespace, name, None).await?;
        if let Some(rv) = scale.pointer("/metadata/resourceVersion").and_then(Value::as_str).filter(|rv| !rv.is_empty())
        {
            crate::object::set_meta(&mut parent, "resourceVersion", Some(json!(rv)));
        }
        parent.entry("spec").or_insert_with(|| json!({}))["replicas"] = json!(replicas);
        let updated = self.update_for_scale(namespace, name, Value::Object(parent), &options).await?;
        Ok(scale_of(&updated))
    }

    /// `PATCH .../scale` (merge or JSON patch of the Scale).
    pub async fn patch_scale(
        &self,
        namespace: Option<&str>,
        name: &str,
        kind: PatchType,
        patch: &Value,
        options: WriteOptions,
    ) -> Result<Value, ApiError> {
        let current = self.get_scale(namespace, name).await?;
        let patched = patch::apply(kind, &current, patch).map_err(|e| match e {
            PatchError::Malformed(why) | PatchError::Failed(why) => ApiError::bad_request(why),
        })?;
        // A patch that does not name a resourceVersion applies to the latest parent.
        let mut patched = patched;
        if patch.pointer("/metadata/resourceVersion").is_none()
            && kind == PatchType::Merge
            && let Some(meta) = patched.get_mut("metadata").and_then(Value::as_object_mut)
        {
            meta.remove("resourceVersion");
        }
        self.update_scale(namespace, name, patched, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_as_text() {
        assert_eq!(selector_text(Some(&json!({"matchLabels": {"app": "web"}}))), "app=web");
        assert_eq!(
            selector_text(Some(
                &json!({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "t", "operator": "In", "values": ["x", "y"]}]})
            )),
            "a=1,t in (x,y)"
        );
        assert_eq!(selector_text(Some(&json!({"app": "web"}))), "app=web", "replication controllers use a plain map");
        assert_eq!(selector_text(None), "");
    }
}
