//! Stored objects answered as they are stored: the JSON bytes with `metadata.resourceVersion`
//! spliced in, instead of decoding every object of a LIST into a tree and encoding it again
//! (a LIST of 10,000 pods moves megabytes; this keeps it a copy).

/// The stored JSON of an object with `"resourceVersion":"<revision>"` added at the start of its
/// top-level `metadata` object; `None` when the bytes do not have the expected form (no
/// `metadata` object, or one that already holds a resourceVersion): the caller decodes.
pub fn with_resource_version(stored: &[u8], revision: u64) -> Option<Vec<u8>> {
    let open = metadata_object_start(stored)?;
    let rest = &stored[open + 1..];
    let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
    let field = format!("\"resourceVersion\":\"{revision}\"{}", if empty { "" } else { "," });
    let mut out = Vec::with_capacity(stored.len() + field.len());
    out.extend_from_slice(&stored[..=open]);
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(rest);
    Some(out)
}

/// The index of the `{` that opens the top-level `metadata` value, if that object has no
/// `resourceVersion` key of its own.
fn metadata_object_start(json: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    // The key just read at depth 1 or 2, and where the metadata object opened.
    let mut last_key: Option<(usize, usize)> = None;
    let mut metadata_open: Option<usize> = None;
    while i < json.len() {
        match json[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < json.len() && json[i] != b'"' {
                    if json[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                let end = i.min(json.len());
                // A string followed by ':' is a key.
                let next = json[end.saturating_add(1).min(json.len())..].iter().find(|b| !b.is_ascii_whitespace());
                if next == Some(&b':') {
                    last_key = Some((start, end));
                    if depth == 2 && metadata_open.is_some() && &json[start..end] == b"resourceVersion" {
                        return None;
                    }
                }
            }
            b'{' | b'[' => {
                if depth == 1
                    && json[i] == b'{'
                    && last_key.is_some_and(|(s, e)| &json[s..e] == b"metadata")
                    && metadata_open.is_none()
                {
                    metadata_open = Some(i);
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 1 && metadata_open.is_some() {
                    return metadata_open;
                }
            }
            b',' if depth == 1 => last_key = None,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn splice(value: &Value, revision: u64) -> Option<Value> {
        let bytes = serde_json::to_vec(value).unwrap();
        with_resource_version(&bytes, revision).map(|out| serde_json::from_slice(&out).unwrap())
    }

    #[test]
    fn adds_the_revision_to_top_level_metadata_only() {
        let obj = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "a", "labels": {"metadata": "x"}, "annotations": {"q": "say \"metadata\": {"}},
            "spec": {"template": {"metadata": {"labels": {"a": "b"}}}},
        });
        let mut expected = obj.clone();
        expected["metadata"]["resourceVersion"] = json!("42");
        assert_eq!(splice(&obj, 42), Some(expected));
        assert_eq!(splice(&json!({"metadata": {}}), 7), Some(json!({"metadata": {"resourceVersion": "7"}})));
        // The key order of serde_json's maps puts "data" first: a nested "metadata" must not match.
        let cm = json!({"data": {"metadata": "{\"x\":1}"}, "metadata": {"name": "c"}});
        assert_eq!(splice(&cm, 3).unwrap()["metadata"], json!({"name": "c", "resourceVersion": "3"}));
    }

    #[test]
    fn unexpected_forms_fall_back() {
        assert_eq!(splice(&json!({"metadata": {"resourceVersion": "1", "name": "a"}}), 2), None);
        assert_eq!(splice(&json!({"kind": "X"}), 2), None);
        assert_eq!(splice(&json!({"metadata": "text"}), 2), None);
        assert!(with_resource_version(b"{\"metadata\":{", 1).is_none());
        assert!(with_resource_version(b"", 1).is_none());
    }
}
