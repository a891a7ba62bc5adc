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
use serde_json::Value;

use crate::object::Object;

/// Resource-specific behaviour. Every hook has upstream's default.
pub trait Strategy: Send + Sync + 'static {
    /// The resource this strategy serves.
    fn resource(&self) -> &'static ResourceInfo;

    /// Whether the body has the type's shape (a bad shape is a 400, like a decoding error
    /// upstream). Implementations usually call [`check_shape`] with their k8s-openapi type.
    fn check_shape(&self, obj: &Value) -> Result<(), String>;

    /// Problems with an object name (default: DNS-1123 subdomain).
    fn validate_name(&self, name: &str) -> Vec<String> {
        names::dns1123_subdomain(name)
    }

    /// Whether a change of anything but metadata and status bumps `metadata.generation`.
    fn tracks_generation(&self) -> bool {
        false
    }

    /// Defaulting on create, and clearing what a client may not set (usually `status`).
    fn prepare_for_create(&self, _obj: &mut Object) {}

    /// Defaulting on update, and carrying over what this endpoint may not change.
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
    fn selectable_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether a completed delete answers with the deleted object (namespaces) rather than a
    /// `Status` of success (most resources).
    fn returns_deleted_object(&self) -> bool {
        false
    }
}

/// Whether `obj` deserialises as `T` (the type's required fields, scalar types, enums).
pub fn check_shape<T: serde::de::DeserializeOwned>(obj: &Value) -> Result<(), String> {
    T::deserialize(obj).map(drop).map_err(|e| e.to_string())
}
