//! What a field selector reads of an object: the fields each resource can be selected by
//! beyond `metadata.name` and `metadata.namespace`, and how each is turned into the text a
//! selector compares (upstream's `ToSelectableFields`: strings as they are, booleans and
//! numbers formatted, an unset field as its type's zero value).

use std::borrow::Cow;

use serde_json::Value;

use crate::object::{Object, path};

/// A field a resource can be selected by.
#[derive(Debug, Clone, Copy)]
pub struct SelectableField {
    /// The name selectors use (a dotted path).
    pub name: &'static str,
    read: Read,
}

#[derive(Debug, Clone, Copy)]
enum Read {
    /// The value at the name's path; `zero` when unset.
    Path { zero: &'static str },
    /// The first non-empty string among these paths (events' `source`: `source.component`,
    /// else the reporting controller).
    FirstOf(&'static [&'static str]),
}

impl SelectableField {
    /// A string field read at its path, empty when unset.
    pub const fn path(name: &'static str) -> Self {
        Self { name, read: Read::Path { zero: "" } }
    }

    /// A boolean field: `"true"` or `"false"` (also when unset).
    pub const fn boolean(name: &'static str) -> Self {
        Self { name, read: Read::Path { zero: "false" } }
    }

    /// An integer field: its decimal text, `"0"` when unset.
    pub const fn integer(name: &'static str) -> Self {
        Self { name, read: Read::Path { zero: "0" } }
    }

    /// A field whose value is the first non-empty string at `paths`.
    pub const fn first_of(name: &'static str, paths: &'static [&'static str]) -> Self {
        Self { name, read: Read::FirstOf(paths) }
    }

    /// The paths of the object this field's value comes from.
    pub fn reads(&self) -> &[&'static str] {
        match &self.read {
            Read::Path { .. } => std::slice::from_ref(&self.name),
            Read::FirstOf(paths) => paths,
        }
    }

    /// The text a selector compares for this field of `obj`.
    pub fn value<'a>(&self, obj: &'a Object) -> Cow<'a, str> {
        match self.read {
            Read::Path { zero } => match path(obj, self.name) {
                Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
                Some(Value::Bool(b)) => Cow::Borrowed(if *b { "true" } else { "false" }),
                Some(Value::Number(n)) => Cow::Owned(n.to_string()),
                _ => Cow::Borrowed(zero),
            },
            Read::FirstOf(paths) => paths
                .iter()
                .find_map(|p| path(obj, p).and_then(Value::as_str).filter(|s| !s.is_empty()))
                .map_or(Cow::Borrowed(""), Cow::Borrowed),
        }
    }
}

/// The field of `fields` named `name`.
pub fn find<'f>(fields: &'f [SelectableField], name: &str) -> Option<&'f SelectableField> {
    fields.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { unreachable!() };
        obj
    }

    #[test]
    fn values_are_formatted_with_zero_values_for_unset_fields() {
        let pod = object(json!({"spec": {"nodeName": "n1", "hostNetwork": true}, "status": {"replicas": 3}}));
        assert_eq!(SelectableField::path("spec.nodeName").value(&pod), "n1");
        assert_eq!(SelectableField::boolean("spec.hostNetwork").value(&pod), "true");
        assert_eq!(SelectableField::integer("status.replicas").value(&pod), "3");
        let empty = object(json!({}));
        assert_eq!(SelectableField::path("spec.nodeName").value(&empty), "");
        assert_eq!(SelectableField::boolean("spec.hostNetwork").value(&empty), "false");
        assert_eq!(SelectableField::integer("status.replicas").value(&empty), "0");
    }

    #[test]
    fn first_of_takes_the_first_non_empty_string() {
        let source = SelectableField::first_of("source", &["source.component", "reportingComponent"]);
        let event = object(json!({"source": {"component": ""}, "reportingComponent": "kubelet"}));
        assert_eq!(source.value(&event), "kubelet");
        let event = object(json!({"source": {"component": "scheduler"}, "reportingComponent": "kubelet"}));
        assert_eq!(source.value(&event), "scheduler");
        assert_eq!(source.value(&object(json!({}))), "");
    }
}
