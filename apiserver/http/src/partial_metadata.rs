//! `PartialObjectMetadata` answers (`Accept: application/json;as=PartialObjectMetadata[List];
//! g=meta.k8s.io;v=v1`): only the objects' metadata, what metadata informers (the garbage
//! collector, kube-rs `metadata_watcher`) ask for to keep memory small.

use serde_json::{Value, json};

/// The `meta.k8s.io` version asked for, if the `Accept` header asks for partial metadata.
pub fn wanted_version(accept: &str) -> Option<&'static str> {
    accept.split(',').find_map(|part| {
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        let partial = params.iter().any(|p| matches!(*p, "as=PartialObjectMetadata" | "as=PartialObjectMetadataList"));
        if !partial || !params.contains(&"g=meta.k8s.io") {
            return None;
        }
        if params.contains(&"v=v1") {
            Some("v1")
        } else if params.contains(&"v=v1beta1") {
            Some("v1beta1")
        } else {
            None
        }
    })
}

/// An object, or a list of them, reduced to metadata.
pub fn convert(value: &Value, version: &str) -> Value {
    let api_version = format!("meta.k8s.io/{version}");
    let partial = |obj: &Value| {
        json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": api_version,
            "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
        })
    };
    match value.get("items").and_then(Value::as_array) {
        Some(items) => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": api_version,
            "metadata": value.get("metadata").cloned().unwrap_or(json!({})),
            "items": items.iter().map(partial).collect::<Vec<_>>(),
        }),
        None => partial(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_and_conversion() {
        let client_go = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
        assert_eq!(wanted_version(client_go), Some("v1"));
        assert_eq!(wanted_version("application/json;as=Table;v=v1;g=meta.k8s.io"), None);
        assert_eq!(wanted_version("application/json"), None);
        let list = json!({"kind": "PodList", "metadata": {"resourceVersion": "7"}, "items": [
            {"kind": "Pod", "metadata": {"name": "a"}, "spec": {"containers": []}},
        ]});
        assert_eq!(
            convert(&list, "v1"),
            json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                   "metadata": {"resourceVersion": "7"},
                   "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "a"}}]})
        );
    }
}
