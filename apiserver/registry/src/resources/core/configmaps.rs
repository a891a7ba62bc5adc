//! ConfigMaps: data keys, 1 MiB of data, and the `immutable` switch.

use apiserver_machinery::field::{FieldError, FieldErrors};
use apiserver_machinery::resources::{self, ResourceInfo};
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;

use super::data_keys;
use crate::object::Object;
use crate::strategy::{Strategy, check_shape};
use k8s_openapi::schemars::{Schema, SchemaGenerator};

/// Strategy of `configmaps`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigMaps;

/// Bytes a ConfigMap value counts for: strings as they are, binaryData decoded (~3/4 of base64).
fn size_of(field: &str, value: &Value) -> usize {
    let len = value.as_str().map_or(0, str::len);
    if field == "binaryData" { len / 4 * 3 } else { len }
}

impl Strategy for ConfigMaps {
    fn resource(&self) -> &'static ResourceInfo {
        resources::find("", "v1", "configmaps").expect("configmaps are in the table")
    }

    fn check_shape(&self, obj: &Value, unknown: Option<&mut Vec<String>>) -> Result<(), String> {
        check_shape::<ConfigMap>(obj, unknown)
    }

    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<ConfigMap>()
    }

    fn validate(&self, obj: &Object) -> FieldErrors {
        data_keys::validate(&[("data", obj.get("data")), ("binaryData", obj.get("binaryData"))], size_of)
    }

    fn validate_update(&self, new: &Object, old: &Object) -> FieldErrors {
        let mut errors = self.validate(new);
        errors.extend(immutable_data(new, old, &["data", "binaryData"]));
        errors
    }
}

/// Once `immutable: true` is stored, neither it nor the data may change.
pub(super) fn immutable_data(new: &Object, old: &Object, data_fields: &[&str]) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return errors;
    }
    const WHY: &str = "field is immutable when `immutable` is set";
    if new.get("immutable").and_then(Value::as_bool) != Some(true) {
        errors.push(FieldError::forbidden("immutable", WHY));
    }
    for field in data_fields {
        if new.get(*field) != old.get(*field) {
            errors.push(FieldError::forbidden(*field, WHY));
        }
    }
    errors
}
