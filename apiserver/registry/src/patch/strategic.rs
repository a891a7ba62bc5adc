//! Strategic merge patch (`application/strategic-merge-patch+json`, what `kubectl apply`,
//! `edit` and `patch` send for built-in kinds): a JSON merge patch in which lists with a merge
//! key merge element by element, plus the patch directives.
//!
//! ```text
//! {"spec": {"containers": [{"name": "app", "image": "v2"}]}}    merges into the "app" container
//! {"$patch": "delete", "name": "old"} in a keyed list             removes that element
//! {"$patch": "replace"} in a map                                  replaces the whole map
//! "$retainKeys": [...]                                            drops keys not listed
//! "$setElementOrder/<list>": [...]                                 orders the merged list
//! "$deleteFromPrimitiveList/<list>": [...]                         removes values from a list
//! ```
//! How each list merges is its field's `patchStrategy` and `patchMergeKey` in the target's
//! schema ([`Shape`]); other lists are replaced, as upstream does for lists without a strategy.

use serde_json::{Map, Value};

use super::PatchError;
use crate::shape::{PatchList, Shape};

/// Applies a strategic merge patch to `target`.
pub fn apply(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    if !patch.is_object() {
        return Err(PatchError::Malformed("strategic merge patch must be a JSON object".into()));
    }
    let mut out = target.clone();
    merge_map(&mut out, patch, Shape::of_object(target))?;
    Ok(out)
}

fn merge_map(target: &mut Value, patch: &Value, shape: Shape) -> Result<(), PatchError> {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replacement = patch.clone();
            replacement.remove("$patch");
            *target = Value::Object(replacement);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Null;
            return Ok(());
        }
        Some(other) if other != "merge" => {
            return Err(PatchError::Malformed(format!("unknown patch directive {other:?}")));
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let map = target.as_object_mut().expect("made an object");
    for (key, value) in patch {
        if key == "$patch" || key == "$retainKeys" || key.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let remove: Vec<&Value> = value.as_array().map(|v| v.iter().collect()).unwrap_or_default();
            if let Some(Value::Array(items)) = map.get_mut(field) {
                items.retain(|item| !remove.contains(&item));
            }
            continue;
        }
        if value.is_null() {
            map.remove(key);
            continue;
        }
        match value {
            Value::Array(items) => {
                let current = map.remove(key).unwrap_or(Value::Null);
                let field = shape.field(key);
                let merged = merge_list(current, items, field.patch, field.shape, key)?;
                map.insert(key.clone(), merged);
            }
            Value::Object(_) => {
                let slot = map.entry(key.clone()).or_insert(Value::Null);
                merge_map(slot, value, shape.field(key).shape)?;
                if slot.is_null() {
                    map.remove(key);
                }
            }
            _ => {
                map.insert(key.clone(), value.clone());
            }
        }
    }
    if let Some(retain) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        map.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (key, order) in patch.iter().filter_map(|(k, v)| Some((k.strip_prefix("$setElementOrder/")?, v))) {
        order_list(map, key, order, shape.field(key).patch);
    }
    Ok(())
}

fn merge_list(
    current: Value,
    patch: &[Value],
    strategy: PatchList,
    items_shape: Shape,
    field: &str,
) -> Result<Value, PatchError> {
    let mut items = match current {
        Value::Array(items) => items,
        _ => Vec::new(),
    };
    match strategy {
        PatchList::Replace => Ok(Value::Array(patch.iter().filter(|v| v.get("$patch").is_none()).cloned().collect())),
        PatchList::Set => {
            for value in patch {
                if !items.contains(value) {
                    items.push(value.clone());
                }
            }
            Ok(Value::Array(items))
        }
        PatchList::Key(key) => {
            if patch.iter().any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace")) {
                return Ok(Value::Array(patch.iter().filter(|v| v.get("$patch").is_none()).cloned().collect()));
            }
            for element in patch {
                let Some(id) = element.get(key) else {
                    return Err(PatchError::Malformed(format!("an element of {field} has no merge key {key:?}")));
                };
                let position = items.iter().position(|item| item.get(key) == Some(id));
                if element.get("$patch").and_then(Value::as_str) == Some("delete") {
                    if let Some(position) = position {
                        items.remove(position);
                    }
                    continue;
                }
                match position {
                    Some(position) => merge_map(&mut items[position], element, items_shape)?,
                    None => {
                        let mut fresh = Value::Null;
                        merge_map(&mut fresh, element, items_shape)?;
                        items.push(fresh);
                    }
                }
            }
            Ok(Value::Array(items))
        }
    }
}

/// Reorders a merged list as `$setElementOrder` asks; elements it does not name keep their
/// relative order at the end.
fn order_list(map: &mut Map<String, Value>, field: &str, order: &Value, strategy: PatchList) {
    let (Some(Value::Array(items)), Some(order)) = (map.get_mut(field), order.as_array()) else { return };
    let id = |v: &Value| -> Value {
        match strategy {
            PatchList::Key(key) => v.get(key).cloned().unwrap_or(Value::Null),
            _ => v.clone(),
        }
    };
    let mut sorted = Vec::with_capacity(items.len());
    for wanted in order {
        let wanted = id(wanted);
        if let Some(position) = items.iter().position(|item| id(item) == wanted) {
            sorted.push(items.remove(position));
        }
    }
    sorted.append(items);
    *items = sorted;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"labels": {"app": "web"}, "finalizers": ["a"]}, "spec": {"replicas": 1, "template": {"spec": {
            "containers": [
                {"name": "app", "image": "v1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "ports": [{"containerPort": 80}]},
                {"name": "sidecar", "image": "s1", "args": ["x", "y"]},
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
        }}}})
    }

    #[test]
    fn keyed_lists_merge_element_by_element() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "v2", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]},
        ]}}}});
        let out = apply(&deployment(), &patch).unwrap();
        let containers = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "v2");
        assert_eq!(
            containers[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}])
        );
        assert_eq!(containers[0]["ports"], json!([{"containerPort": 80}]), "untouched fields stay");
        assert_eq!(containers[1]["image"], "s1", "other elements stay");
    }

    #[test]
    fn directives() {
        let patch = json!({
            "metadata": {"finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {"template": {"spec": {
                "containers": [{"name": "sidecar", "$patch": "delete"}, {"name": "new", "image": "n"}],
                "$setElementOrder/containers": [{"name": "new"}, {"name": "app"}],
                "volumes": [{"name": "data", "$patch": "delete"}],
            }}},
        });
        let out = apply(&deployment(), &patch).unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
        let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["new", "app"]);
        assert_eq!(out["spec"]["template"]["spec"]["volumes"], json!([]));
        let replaced =
            apply(&deployment(), &json!({"metadata": {"labels": {"$patch": "replace", "tier": "x"}}})).unwrap();
        assert_eq!(replaced["metadata"]["labels"], json!({"tier": "x"}));
        let retained =
            apply(&json!({"spec": {"a": 1, "b": 2}}), &json!({"spec": {"$retainKeys": ["b", "c"], "c": 3}})).unwrap();
        assert_eq!(retained["spec"], json!({"b": 2, "c": 3}));
    }

    #[test]
    fn unkeyed_lists_are_replaced_and_nulls_delete() {
        let patch = json!({"spec": {"replicas": null, "template": {"spec": {"containers": [{"name": "sidecar", "args": ["z"]}]}}}});
        let out = apply(&deployment(), &patch).unwrap();
        assert!(out["spec"].get("replicas").is_none());
        assert_eq!(out["spec"]["template"]["spec"]["containers"][1]["args"], json!(["z"]));
        assert!(
            apply(&deployment(), &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}})).is_err()
        );
        assert!(apply(&deployment(), &json!([])).is_err());
    }

    #[test]
    fn list_strategies_come_from_the_schema() {
        let service = json!({"apiVersion": "v1", "kind": "Service",
            "spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}});
        let out = apply(&service, &json!({"spec": {"ports": [{"port": 80, "name": "web"}]}})).unwrap();
        assert_eq!(out["spec"]["ports"], json!([{"port": 80, "name": "web"}, {"port": 443, "name": "https"}]));
        let slice = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "ports": [{"port": 80}, {"port": 443}]});
        let out = apply(&slice, &json!({"ports": [{"port": 80, "name": "web"}]})).unwrap();
        assert_eq!(out["ports"], json!([{"port": 80, "name": "web"}]), "an EndpointSlice's ports are atomic");
        let unknown = json!({"apiVersion": "example.com/v1", "kind": "Widget", "spec": {"items": [{"name": "a"}]}});
        let out = apply(&unknown, &json!({"spec": {"items": [{"name": "b"}]}})).unwrap();
        assert_eq!(out["spec"]["items"], json!([{"name": "b"}]), "lists of unknown types are replaced");
    }
}
