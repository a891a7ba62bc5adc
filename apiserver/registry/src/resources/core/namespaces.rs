//! Namespaces: DNS-1123 label names, the `kubernetes` finalizer, `Active` → `Terminating`.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use apiserver_machinery::resources::{self, ResourceInfo};
use k8s_openapi::api::core::v1::Namespace;
use serde_json::{Value, json};

use crate::fields::SelectableField;
use crate::metadata::finalizer_problems;
use crate::object::{Object, meta_str, metadata_mut};
use crate::strategy::{Strategy, check_shape};
use k8s_openapi::schemars::{Schema, SchemaGenerator};

/// The label every namespace carries with its own name (upstream since 1.21).
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// The finalizer the namespace controller removes once the namespace is empty.
pub const KUBERNETES_FINALIZER: &str = "kubernetes";

/// Strategy of `namespaces`.
#[derive(Debug, Clone, Copy)]
pub struct Namespaces;

fn set_name_label(obj: &mut Object) {
    let name = meta_str(obj, "name").to_string();
    let meta = metadata_mut(obj);
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if !labels.is_object() {
        *labels = json!({});
    }
    labels[NAME_LABEL] = json!(name);
}

impl Strategy for Namespaces {
    fn resource(&self) -> &'static ResourceInfo {
        resources::find("", "v1", "namespaces").expect("namespaces are in the table")
    }

    fn check_shape(&self, obj: &Value, unknown: Option<&mut Vec<String>>) -> Result<(), String> {
        check_shape::<Namespace>(obj, unknown)
    }

    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<Namespace>()
    }

    fn validate_name(&self, name: &str) -> Vec<String> {
        names::dns1123_label(name)
    }

    fn prepare_for_create(&self, obj: &mut Object) {
        let spec = obj.entry("spec").or_insert_with(|| json!({}));
        let finalizers = spec.get("finalizers").and_then(Value::as_array).cloned().unwrap_or_default();
        if !finalizers.iter().any(|f| f == KUBERNETES_FINALIZER) {
            let mut finalizers = finalizers;
            finalizers.push(json!(KUBERNETES_FINALIZER));
            spec["finalizers"] = json!(finalizers);
        }
        obj.insert("status".into(), json!({"phase": "Active"}));
        set_name_label(obj);
    }

    fn prepare_for_update(&self, new: &mut Object, old: &Object) {
        // Only the finalize subresource changes spec.finalizers.
        let old_spec = old.get("spec").cloned().unwrap_or_else(|| json!({}));
        let spec = new.entry("spec").or_insert_with(|| json!({}));
        match old_spec.get("finalizers") {
            Some(finalizers) => spec["finalizers"] = finalizers.clone(),
            None => {
                if let Some(spec) = spec.as_object_mut() {
                    spec.remove("finalizers");
                }
            }
        }
        set_name_label(new);
    }

    fn deletion_blocked(&self, obj: &Object) -> bool {
        obj.get("spec").and_then(|s| s.get("finalizers")).and_then(Value::as_array).is_some_and(|f| !f.is_empty())
    }

    fn validate(&self, obj: &Object) -> FieldErrors {
        let mut errors = FieldErrors::default();
        let finalizers = obj.get("spec").and_then(|s| s.get("finalizers")).and_then(Value::as_array);
        for (i, finalizer) in finalizers.into_iter().flatten().enumerate() {
            let finalizer = finalizer.as_str().unwrap_or_default();
            for problem in finalizer_problems(finalizer) {
                errors.push(FieldError::invalid(Path::new("spec").child("finalizers").index(i), finalizer, problem));
            }
        }
        errors
    }

    fn prepare_for_deletion(&self, obj: &mut Object) {
        // Only the phase changes; conditions stay.
        let status = obj.entry("status").or_insert_with(|| json!({}));
        if !status.is_object() {
            *status = json!({});
        }
        status["phase"] = json!("Terminating");
    }

    fn selectable_fields(&self) -> &'static [SelectableField] {
        const FIELDS: &[SelectableField] = &[SelectableField::path("status.phase")];
        FIELDS
    }

    fn returns_deleted_object(&self) -> bool {
        true
    }
}
