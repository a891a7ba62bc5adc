//! Patches: JSON merge patch (RFC 7386, what `kubectl label/annotate` and `patch --type=merge`
//! send), JSON patch (RFC 6902, with `test`), strategic merge patch (`strategic.rs`, what
//! `kubectl apply/edit/patch` send for built-in kinds) and server-side apply (`apply.rs`, what
//! `kubectl apply --server-side` and helm send), which needs the object's `managedFields` and so
//! goes through [`crate::Registry::apply`] rather than [`apply`].

pub mod apply;
mod strategic;

use serde_json::{Map, Value};

/// The patch types a PATCH request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json`
    Merge,
    /// `application/json-patch+json`
    Json,
    /// `application/strategic-merge-patch+json`
    Strategic,
    /// `application/apply-patch+yaml`: server-side apply (the body is YAML, or JSON).
    Apply,
}

impl PatchType {
    /// The patch type of a `Content-Type`, if supported.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        match content_type.split(';').next().unwrap_or("").trim() {
            "application/merge-patch+json" => Some(Self::Merge),
            "application/json-patch+json" => Some(Self::Json),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml" => Some(Self::Apply),
            _ => None,
        }
    }

    /// Content types accepted for PATCH.
    pub const ACCEPTED: &'static [&'static str] = &[
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ];
}

/// Why a patch could not be applied (a 422 or 400 upstream, decided by the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document is malformed.
    #[error("{0}")]
    Malformed(String),
    /// A JSON patch operation failed (missing path, failed `test`).
    #[error("{0}")]
    Failed(String),
}

/// Applies `patch` of `kind` to `target`.
pub fn apply(kind: PatchType, target: &Value, patch: &Value) -> Result<Value, PatchError> {
    match kind {
        PatchType::Merge => {
            if !patch.is_object() {
                return Err(PatchError::Malformed("merge patch must be a JSON object".into()));
            }
            let mut out = target.clone();
            merge(&mut out, patch);
            Ok(out)
        }
        PatchType::Json => json_patch(target, patch),
        PatchType::Strategic => strategic::apply(target, patch),
        PatchType::Apply => Err(PatchError::Malformed("server-side apply is not supported here".into())),
    }
}

/// RFC 7386: objects merge recursively, `null` removes, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target = target.as_object_mut().expect("made an object");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// RFC 6901 pointer tokens.
fn tokens(path: &str) -> Result<Vec<String>, PatchError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(PatchError::Malformed(format!("invalid JSON pointer {path:?}")));
    };
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

fn parent_and_last<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), PatchError> {
    let mut tokens = tokens(path)?;
    let last = tokens.pop().ok_or_else(|| PatchError::Failed("cannot operate on the whole document".into()))?;
    let mut node = doc;
    for token in &tokens {
        node = match node {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(move |i| items.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| PatchError::Failed(format!("path {path:?} does not exist")))?;
    }
    Ok((node, last))
}

fn get<'a>(doc: &'a Value, path: &str) -> Result<&'a Value, PatchError> {
    let mut node = doc;
    for token in tokens(path)? {
        node = match node {
            Value::Object(map) => map.get(&token),
            Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
        .ok_or_else(|| PatchError::Failed(format!("path {path:?} does not exist")))?;
    }
    Ok(node)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), PatchError> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = parent_and_last(doc, path)?;
    match parent {
        Value::Object(map) => {
            map.insert(last, value);
            Ok(())
        }
        Value::Array(items) => {
            let index = if last == "-" {
                items.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|&i| i <= items.len())
                    .ok_or_else(|| PatchError::Failed(format!("index {last:?} out of range in {path:?}")))?
            };
            items.insert(index, value);
            Ok(())
        }
        _ => Err(PatchError::Failed(format!("path {path:?} does not exist"))),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, PatchError> {
    let (parent, last) = parent_and_last(doc, path)?;
    let missing = || PatchError::Failed(format!("path {path:?} does not exist"));
    match parent {
        Value::Object(map) => map.remove(&last).ok_or_else(missing),
        Value::Array(items) => {
            let index = last.parse::<usize>().ok().filter(|&i| i < items.len()).ok_or_else(missing)?;
            Ok(items.remove(index))
        }
        _ => Err(missing()),
    }
}

/// RFC 6902: add, remove, replace, move, copy, test; all or nothing.
fn json_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let Value::Array(operations) = patch else {
        return Err(PatchError::Malformed("json patch must be a JSON array of operations".into()));
    };
    let mut doc = target.clone();
    for operation in operations {
        let field = |name: &str| operation.get(name).and_then(Value::as_str);
        let op = field("op").ok_or_else(|| PatchError::Malformed("operation without \"op\"".into()))?;
        let path = field("path").ok_or_else(|| PatchError::Malformed(format!("{op} operation without \"path\"")))?;
        let value = || {
            operation
                .get("value")
                .cloned()
                .ok_or_else(|| PatchError::Malformed(format!("{op} operation without \"value\"")))
        };
        let from = || field("from").ok_or_else(|| PatchError::Malformed(format!("{op} operation without \"from\"")));
        match op {
            "add" => add(&mut doc, path, value()?)?,
            "remove" => {
                remove(&mut doc, path)?;
            }
            "replace" => {
                remove(&mut doc, path)?;
                add(&mut doc, path, value()?)?;
            }
            "move" => {
                let moved = remove(&mut doc, from()?)?;
                add(&mut doc, path, moved)?;
            }
            "copy" => {
                let copied = get(&doc, from()?)?.clone();
                add(&mut doc, path, copied)?;
            }
            "test" => {
                if get(&doc, path)? != &value()? {
                    return Err(PatchError::Failed(format!("testing value {path:?} failed")));
                }
            }
            other => return Err(PatchError::Malformed(format!("unknown operation {other:?}"))),
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let target = json!({"a": "b", "c": {"d": "e", "f": "g"}, "list": [1, 2]});
        let patch = json!({"a": "z", "c": {"f": null}, "list": [3], "new": {"x": 1}});
        assert_eq!(
            apply(PatchType::Merge, &target, &patch).unwrap(),
            json!({"a": "z", "c": {"d": "e"}, "list": [3], "new": {"x": 1}})
        );
        assert!(apply(PatchType::Merge, &target, &json!([1])).is_err());
    }

    #[test]
    fn json_patch_operations_and_test() {
        let target = json!({"metadata": {"labels": {"a": "1"}}, "items": ["x", "y"]});
        let patch = json!([
            {"op": "test", "path": "/metadata/labels/a", "value": "1"},
            {"op": "add", "path": "/metadata/labels/b~1c", "value": "2"},
            {"op": "replace", "path": "/items/0", "value": "X"},
            {"op": "add", "path": "/items/-", "value": "z"},
            {"op": "copy", "from": "/items/1", "path": "/copied"},
            {"op": "move", "from": "/copied", "path": "/moved"},
            {"op": "remove", "path": "/metadata/labels/a"},
        ]);
        assert_eq!(
            apply(PatchType::Json, &target, &patch).unwrap(),
            json!({"metadata": {"labels": {"b/c": "2"}}, "items": ["X", "y", "z"], "moved": "y"})
        );
        let failing = json!([{"op": "test", "path": "/metadata/labels/a", "value": "2"}]);
        assert!(matches!(apply(PatchType::Json, &target, &failing), Err(PatchError::Failed(_))));
        let missing = json!([{"op": "remove", "path": "/nope"}]);
        assert!(matches!(apply(PatchType::Json, &target, &missing), Err(PatchError::Failed(_))));
        assert!(matches!(apply(PatchType::Json, &target, &json!({})), Err(PatchError::Malformed(_))));
        assert!(matches!(
            apply(PatchType::Json, &target, &json!([{"op": "jump", "path": "/a"}])),
            Err(PatchError::Malformed(_))
        ));
    }

    #[test]
    fn content_types() {
        assert_eq!(PatchType::from_content_type("application/merge-patch+json"), Some(PatchType::Merge));
        assert_eq!(PatchType::from_content_type("application/json-patch+json; charset=utf-8"), Some(PatchType::Json));
        assert_eq!(PatchType::from_content_type("application/strategic-merge-patch+json"), Some(PatchType::Strategic));
        assert_eq!(PatchType::from_content_type("application/apply-patch+yaml"), Some(PatchType::Apply));
        assert_eq!(PatchType::from_content_type("application/apply-patch+cbor"), None);
    }
}
