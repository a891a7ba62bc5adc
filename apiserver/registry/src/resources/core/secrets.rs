//! Secrets: `stringData` folded into `data`, type defaulting and per-type required keys, data
//! keys and size, immutable type and `immutable` switch.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::resources::{self, ResourceInfo};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};

use super::configmaps::immutable_data;
use super::data_keys;
use crate::fields::SelectableField;
use crate::object::Object;
use crate::strategy::{Strategy, check_shape};
use k8s_openapi::schemars::{Schema, SchemaGenerator};

/// Strategy of `secrets`.
#[derive(Debug, Clone, Copy)]
pub struct Secrets;

/// `stringData` is write-only: its entries replace `data` entries, base64-encoded.
fn fold_string_data(obj: &mut Object) {
    let Some(Value::Object(strings)) = obj.remove("stringData") else { return };
    let data = obj.entry("data").or_insert_with(|| json!({}));
    if !data.is_object() {
        *data = json!({});
    }
    for (key, value) in strings {
        if let Some(value) = value.as_str() {
            data[key] = json!(STANDARD.encode(value));
        }
    }
}

/// Keys a secret of the given type must have (any one of, for basic-auth).
fn required_keys(secret_type: &str) -> &'static [&'static str] {
    match secret_type {
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        _ => &[],
    }
}

fn size_of(_field: &str, value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.len() / 4 * 3)
}

impl Strategy for Secrets {
    fn resource(&self) -> &'static ResourceInfo {
        resources::find("", "v1", "secrets").expect("secrets are in the table")
    }

    fn check_shape(&self, obj: &Value, unknown: Option<&mut Vec<String>>) -> Result<(), String> {
        check_shape::<Secret>(obj, unknown)
    }

    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<Secret>()
    }

    fn prepare_for_create(&self, obj: &mut Object) {
        fold_string_data(obj);
        if obj.get("type").and_then(Value::as_str).is_none_or(str::is_empty) {
            obj.insert("type".into(), json!("Opaque"));
        }
    }

    fn prepare_for_update(&self, new: &mut Object, _old: &Object) {
        // v1 defaulting runs before the strategy: a missing type is Opaque (and so a change).
        self.prepare_for_create(new);
    }

    fn selectable_fields(&self) -> &'static [SelectableField] {
        const FIELDS: &[SelectableField] = &[SelectableField::path("type")];
        FIELDS
    }

    fn validate(&self, obj: &Object) -> FieldErrors {
        let mut errors = data_keys::validate(&[("data", obj.get("data"))], size_of);
        let secret_type = obj.get("type").and_then(Value::as_str).unwrap_or("Opaque");
        let data = obj.get("data").and_then(Value::as_object);
        let has = |key: &str| data.is_some_and(|d| d.contains_key(key));
        for key in required_keys(secret_type) {
            if !has(key) {
                errors.push(FieldError::required(Path::new("data").key(key), ""));
            }
        }
        if secret_type == "kubernetes.io/basic-auth" && !has("username") && !has("password") {
            errors.push(FieldError::required("data[username]", "either username or password is required"));
        }
        if secret_type == "kubernetes.io/service-account-token" {
            let annotations = obj.get("metadata").and_then(|m| m.get("annotations"));
            let name = annotations.and_then(|a| a.get("kubernetes.io/service-account.name"));
            if name.and_then(Value::as_str).is_none_or(str::is_empty) {
                errors.push(FieldError::required("metadata.annotations[kubernetes.io/service-account.name]", ""));
            }
        }
        errors
    }

    fn validate_update(&self, new: &Object, old: &Object) -> FieldErrors {
        let mut errors = self.validate(new);
        let (new_type, old_type) = (new.get("type").and_then(Value::as_str), old.get("type").and_then(Value::as_str));
        if new_type != old_type {
            errors.push(FieldError::invalid("type", new_type.unwrap_or_default(), "field is immutable"));
        }
        errors.extend(immutable_data(new, old, &["data"]));
        errors
    }
}
