//! The per-resource part of the registry: what upstream splits into `RESTCreateStrategy`,
//! `RESTUpdateStrategy` and friends. The generic registry calls the hooks in a fixed order:
//!
//! ```text
//! create: check_shape → prepare_for_create → (name, metadata) → validate        → store
//! update: check_shape → prepare_for_update → (metadata)       → validate_update → store
//! delete: finalizers / deletion_blocked → mark deleting  |  remove
//! ```

use apiserver_machinery::field::FieldErrors;
use apiserver_machinery::names;
use apiserver_machinery::resources::ResourceInfo;
use k8s_openapi::schemars::{Schema, SchemaGenerator};
use serde_json::Value;

use crate::fields::SelectableField;
use crate::object::Object;

/// Resource-specific behaviour. Every hook has upstream's default.
pub trait Strategy: Send + Sync + 'static {
    /// The resource this strategy serves.
    fn resource(&self) -> &'static ResourceInfo;

    /// Whether the body has the type's shape (a bad shape is a 400, like a decoding error
    /// upstream), and, when `unknown` is given, which of its fields the type does not know
    /// (for `fieldValidation`; finding them costs a second pass). Implementations call
    /// [`check_shape`] with their k8s-openapi type.
    fn check_shape(&self, obj: &Value, unknown: Option<&mut Vec<String>>) -> Result<(), String>;

    /// The type's OpenAPI schema: a `$ref` into `generator`'s definitions (which it fills).
    /// Implementations call `generator.subschema_for::<T>()` with their k8s-openapi type.
    fn schema(&self, generator: &mut SchemaGenerator) -> Schema;

    /// Problems with an object name (default: DNS-1123 subdomain).
    fn validate_name(&self, name: &str) -> Vec<String> {
        names::dns1123_subdomain(name)
    }

    /// Whether a change of anything but metadata and status bumps `metadata.generation`.
    fn tracks_generation(&self) -> bool {
        false
    }

    /// Defaulting on create, and clearing what a client may not set. (The registry has
    /// already dropped `status` when the resource has a status subresource.)
    fn prepare_for_create(&self, _obj: &mut Object) {}

    /// Defaulting on update, and carrying over what this endpoint may not change. (The registry
    /// has already restored the stored `status` when the resource has a status subresource.)
    fn prepare_for_update(&self, _new: &mut Object, _old: &Object) {}

    /// Resource-specific validation of a new object.
    fn validate(&self, _obj: &Object) -> FieldErrors {
        FieldErrors::default()
    }

    /// Resource-specific validation of an update (default: the object rules again).
    fn validate_update(&self, new: &Object, _old: &Object) -> FieldErrors {
        self.validate(new)
    }

    /// Whether something other than `metadata.finalizers` keeps a deleted object around
    /// (namespaces: `spec.finalizers`).
    fn deletion_blocked(&self, _obj: &Object) -> bool {
        false
    }

    /// Whether objects of this resource hold unique values (see [`Strategy::claims`]).
    fn uses_claims(&self) -> bool {
        false
    }

    /// The unique values an object holds (`serviceips/10.96.0.10`, `nodeports/30080`).
    fn claims(&self, _obj: &Object) -> Vec<String> {
        Vec::new()
    }

    /// Fills in the unique values the client left for the server to choose, avoiding `taken`;
    /// reports values the client chose that are taken or out of range.
    fn allocate(&self, _obj: &mut Object, _taken: &std::collections::HashSet<String>) -> FieldErrors {
        FieldErrors::default()
    }

    /// Seconds a deleted object is kept (marked) before it may go, given the client's
    /// `gracePeriodSeconds`; 0 (the default) deletes at once. Pods wait for their kubelet.
    fn grace_period(&self, _obj: &Object, _requested: Option<i64>) -> i64 {
        0
    }

    /// Changes made when a delete is accepted but the object must wait (namespaces become
    /// `Terminating`).
    fn prepare_for_deletion(&self, _obj: &mut Object) {}

    /// Field-selector fields beyond `metadata.name` (and `metadata.namespace` for namespaced
    /// resources).
    fn selectable_fields(&self) -> &'static [SelectableField] {
        &[]
    }

    /// Whether a completed delete answers with the deleted object (namespaces) rather than a
    /// `Status` of success (most resources).
    fn returns_deleted_object(&self) -> bool {
        false
    }

    /// How objects convert when this strategy's version is not the stored one (HPAs are stored
    /// as `autoscaling/v2` and also served as v1; `events.k8s.io/v1` Events are stored as core
    /// `v1` Events); `None` when it is. With a conversion, every stored object is decoded and
    /// converted: lists and watches cannot send the stored bytes.
    fn conversion(&self) -> Option<VersionConversion> {
        None
    }
}

/// Conversion between a served version and the stored one.
#[derive(Debug, Clone, Copy)]
pub struct VersionConversion {
    /// The API group whose keys hold the stored objects ("" for core): the served group's for
    /// another version of the same group (HPAs), another group's for a resource served in two
    /// groups (`events.k8s.io` Events live with the core Events), so both see the same objects.
    pub storage_group: &'static str,
    /// Served version → stored version.
    pub to_storage: fn(Object) -> Object,
    /// Stored version → served version.
    pub from_storage: fn(Object) -> Object,
}

/// Whether `obj` deserialises as `T` (the type's required fields, scalar types, enums), and
/// into `unknown` (when given) the paths of the fields `T` does not have: those that do not
/// survive a round trip through `T` (null values aside, which mean "unset").
pub fn check_shape<T: serde::de::DeserializeOwned + serde::Serialize>(
    obj: &Value,
    unknown: Option<&mut Vec<String>>,
) -> Result<(), String> {
    let typed = T::deserialize(obj).map_err(|e| e.to_string())?;
    if let Some(unknown) = unknown {
        let known = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
        unknown_fields(obj, &known, "", unknown);
    }
    Ok(())
}

fn unknown_fields(input: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    match (input, known) {
        (Value::Object(input), Value::Object(known)) => {
            for (key, value) in input.iter().filter(|(_, v)| !v.is_null()) {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                match known.get(key) {
                    Some(known) => unknown_fields(value, known, &child, out),
                    None => out.push(child),
                }
            }
        }
        (Value::Array(input), Value::Array(known)) => {
            for (i, (value, known)) in input.iter().zip(known).enumerate() {
                unknown_fields(value, known, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    use super::*;

    #[test]
    fn unknown_fields_are_found_by_round_trip() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "1"}, "bogus": 1},
                         "data": {"free": "form"}, "extra": {"deep": true}, "immutable": null});
        let mut unknown = Vec::new();
        check_shape::<ConfigMap>(&obj, Some(&mut unknown)).unwrap();
        assert_eq!(unknown, vec!["extra", "metadata.bogus"]);
        assert!(check_shape::<ConfigMap>(&json!({"data": {"k": 1}}), None).is_err());
    }
}
