//! PersistentVolumeClaims (`ValidatePersistentVolumeClaim` and `...Update`): access modes, a
//! positive storage request, a volume mode, data sources; after creation only the storage
//! request (of a bound claim, never below its capacity), the volume attributes class, a first
//! `volumeName` and a first storage class may change.

use apiserver_machinery::field::{FieldError, FieldErrors, FieldValue, Path};
use serde_json::{Map, Value, json};

use super::{VOLUME_MODES, access_modes, class_name};
use crate::object::{Object, meta_string_map};
use crate::resources::checks::quantity::{self, Quantity};
use crate::resources::checks::selectors::label_selector;
use crate::resources::checks::{self, field, text};
use crate::resources::defaults;

/// The beta annotation that named a claim's class before `spec.storageClassName`.
const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

fn spec(obj: &Object) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

/// Upstream's defaults (`volumeMode: Filesystem`, a Pending phase) and its data source
/// normalisation: `dataSource` and `dataSourceRef` say the same unless the reference points
/// into another namespace.
pub fn default_claim(obj: &mut Object) {
    defaults::persistent_volume_claim(obj);
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else { return };
    let set = |spec: &Map<String, Value>, key: &str| spec.get(key).is_some_and(|v| !v.is_null());
    if set(spec, "dataSource") && !set(spec, "dataSourceRef") {
        let source = spec["dataSource"].clone();
        spec.insert("dataSourceRef".into(), reference(&source));
    } else if set(spec, "dataSourceRef")
        && !set(spec, "dataSource")
        && text(&spec["dataSourceRef"], "namespace").is_empty()
    {
        let source = spec["dataSourceRef"].clone();
        spec.insert("dataSource".into(), reference(&source));
    }
}

/// A typed reference's group, kind and name.
fn reference(source: &Value) -> Value {
    let mut copy = json!({"kind": source.get("kind"), "name": source.get("name")});
    if let Some(group) = field(source, "apiGroup") {
        copy["apiGroup"] = group.clone();
    }
    copy
}

/// core/v1 PersistentVolumeClaim, on create.
pub fn validate_claim(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    claim_spec(&mut errors, &Path::new("spec"), spec(obj));
    errors
}

/// `ValidatePersistentVolumeClaimSpec`.
fn claim_spec(errors: &mut FieldErrors, path: &Path, spec: &Value) {
    if !checks::has_entries(spec, "accessModes") {
        errors.push(FieldError::required(path.child("accessModes"), "at least 1 access mode is required"));
    }
    label_selector(errors, &path.child("selector"), field(spec, "selector"));
    access_modes(errors, &path.child("accessModes"), spec);
    let storage_path = path.child("resources").key("storage");
    match spec.pointer("/resources/requests/storage").filter(|v| !v.is_null()) {
        None => errors.push(FieldError::required(&storage_path, "")),
        Some(value) => {
            if let Some(storage) = Quantity::read(value, &storage_path, errors) {
                quantity::positive(errors, &storage_path, &storage);
            }
        }
    }
    class_name(errors, &path.child("storageClassName"), text(spec, "storageClassName"));
    if let Some(mode) = field(spec, "volumeMode") {
        checks::one_of(errors, &path.child("volumeMode"), mode.as_str().unwrap_or_default(), VOLUME_MODES);
    }
    let source = field(spec, "dataSource");
    let source_ref = field(spec, "dataSourceRef");
    if let Some(source) = source {
        data_source(errors, &path.child("dataSource"), source);
    }
    if let Some(source_ref) = source_ref {
        data_source(errors, &path.child("dataSourceRef"), source_ref);
        let namespace = text(source_ref, "namespace");
        if !namespace.is_empty() {
            checks::dns1123_label(errors, &path.child("dataSourceRef").child("namespace"), namespace);
        }
    }
    let cross_namespace = source_ref.is_some_and(|r| !text(r, "namespace").is_empty());
    let data_source_path = FieldValue::raw(path.child("dataSource").to_string());
    match (source, source_ref) {
        (Some(_), Some(_)) if cross_namespace => errors.push(FieldError::invalid(
            path,
            data_source_path,
            "may not be specified when dataSourceRef.namespace is specified",
        )),
        (Some(source), Some(source_ref)) if reference(source) != reference(source_ref) => {
            errors.push(FieldError::invalid(path, data_source_path, "must match dataSourceRef"))
        }
        _ => {}
    }
    if let Some(class) = field(spec, "volumeAttributesClassName") {
        class_name(errors, &path.child("volumeAttributesClassName"), class.as_str().unwrap_or_default());
    }
}

/// `validateDataSource` / `validateDataSourceRef`: a name, a kind, and a group unless the kind
/// is a claim.
fn data_source(errors: &mut FieldErrors, path: &Path, source: &Value) {
    for required in ["name", "kind"] {
        if text(source, required).is_empty() {
            errors.push(FieldError::required(path.child(required), ""));
        }
    }
    let (group, kind) = (text(source, "apiGroup"), text(source, "kind"));
    if group.is_empty() && kind != "PersistentVolumeClaim" {
        errors.push(FieldError::invalid(
            path,
            kind,
            "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
        ));
    }
    if !group.is_empty() {
        checks::dns1123_subdomain(errors, &path.child("apiGroup"), group);
    }
}

/// core/v1 PersistentVolumeClaim, on update.
pub fn validate_claim_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_claim(new);
    let (new_spec, old_spec) = (spec(new), spec(old));
    let annotation = |obj: &Object| meta_string_map(obj, "annotations").remove(BETA_CLASS_ANNOTATION);
    let (old_annotation, new_annotation) = (annotation(old), annotation(new));
    let (old_annotation, new_annotation) = (old_annotation.as_deref(), new_annotation.as_deref());
    let (new_class, old_class) = (field(new_spec, "storageClassName"), field(old_spec, "storageClassName"));
    // What may change is taken out of both specs before they are compared.
    let mut comparable_new = new_spec.as_object().cloned().unwrap_or_default();
    let mut comparable_old = old_spec.as_object().cloned().unwrap_or_default();
    if text(old_spec, "volumeName").is_empty() {
        comparable_new.remove("volumeName");
        comparable_old.remove("volumeName");
    }
    // A first class: from the beta annotation to the field, or from none to one.
    let new_class_text = new_class.and_then(Value::as_str);
    let from_annotation = old_annotation.is_some()
        && old_class.is_none()
        && new_class_text.is_some()
        && new_class_text == old_annotation
        && (new_annotation.is_none() || new_annotation == old_annotation);
    let from_nothing =
        new_class.is_some() && old_class.is_none() && (old_annotation.is_none() || new_class_text == old_annotation);
    if !from_annotation && new_annotation != old_annotation {
        let path = Path::new("metadata").child("annotations").child(BETA_CLASS_ANNOTATION);
        errors.push(FieldError::invalid(path, new_annotation.unwrap_or_default(), checks::IMMUTABLE));
    }
    if from_annotation || from_nothing {
        comparable_new.remove("storageClassName");
        comparable_old.remove("storageClassName");
    }
    let bound = new.get("status").and_then(|s| s.get("phase")).and_then(Value::as_str) == Some("Bound");
    if bound {
        for comparable in [&mut comparable_new, &mut comparable_old] {
            comparable.remove("volumeAttributesClassName");
            let requests = comparable.get_mut("resources").and_then(|r| r.get_mut("requests"));
            if let Some(requests) = requests.and_then(Value::as_object_mut) {
                requests.remove("storage");
            }
        }
    }
    // Quantities compare by value, not by how they are written.
    for comparable in [&mut comparable_new, &mut comparable_old] {
        normalise_quantities(comparable);
    }
    let (comparable_new, comparable_old) = (Value::Object(comparable_new), Value::Object(comparable_old));
    if !checks::same(Some(&comparable_new), Some(&comparable_old)) {
        errors.push(FieldError::forbidden(
            "spec",
            format!(
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}",
                checks::diff(Some(&comparable_old), Some(&comparable_new))
            ),
        ));
    }
    let storage = |spec: &Value| spec.pointer("/resources/requests/storage").and_then(|v| Quantity::parse(v.as_str()?));
    let capacity =
        old.get("status").and_then(|s| s.pointer("/capacity/storage")).and_then(|v| Quantity::parse(v.as_str()?));
    if let (Some(new_size), Some(old_size)) = (storage(new_spec), storage(old_spec))
        && new_size < old_size
        && capacity.map_or(!new_size.is_positive(), |capacity| new_size <= capacity)
    {
        errors.push(FieldError::forbidden(
            "spec.resources.requests.storage",
            "field can not be less than status.capacity",
        ));
    }
    checks::immutable(
        &mut errors,
        &Path::new("volumeMode"),
        field(new_spec, "volumeMode"),
        field(old_spec, "volumeMode"),
    );
    if field(old_spec, "volumeAttributesClassName").is_some() {
        match field(new_spec, "volumeAttributesClassName").map(|c| c.as_str().unwrap_or_default()) {
            None => errors.push(FieldError::forbidden(
                "spec.volumeAttributesClassName",
                "update from non-nil value to nil is forbidden",
            )),
            Some("") => errors.push(FieldError::forbidden(
                "spec.volumeAttributesClassName",
                "update from non-nil value to an empty string is forbidden",
            )),
            Some(_) => {}
        }
    }
    errors
}

/// Replaces the quantities of `resources.requests` and `.limits` by their values.
fn normalise_quantities(spec: &mut Map<String, Value>) {
    let Some(resources) = spec.get_mut("resources").and_then(Value::as_object_mut) else { return };
    for list in ["requests", "limits"] {
        for value in resources.get_mut(list).and_then(Value::as_object_mut).into_iter().flat_map(|m| m.values_mut()) {
            if let Some(parsed) = value.as_str().and_then(Quantity::parse) {
                *value = json!(parsed.nanos().to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::checks::testing::messages;

    fn object(value: Value) -> Object {
        let Value::Object(mut obj) = value else { panic!("an object") };
        default_claim(&mut obj);
        obj
    }

    fn claim(spec: Value) -> Object {
        object(json!({"metadata": {"name": "data", "namespace": "default"}, "spec": spec}))
    }

    fn valid() -> Value {
        json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "standard"})
    }

    #[test]
    fn a_realistic_claim_passes() {
        assert!(validate_claim(&claim(valid())).is_empty());
        let mut full = valid();
        full["accessModes"] = json!(["ReadWriteOncePod"]);
        full["volumeMode"] = json!("Block");
        full["selector"] = json!({"matchLabels": {"tier": "db"}});
        full["dataSource"] = json!({"kind": "PersistentVolumeClaim", "name": "origin"});
        full["volumeAttributesClassName"] = json!("gold");
        assert_eq!(messages(&validate_claim(&claim(full))), Vec::<String>::new());
    }

    #[test]
    fn required_fields_and_enums() {
        assert_eq!(
            messages(&validate_claim(&claim(json!({})))),
            [
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Required value"
            ]
        );
        let mut bad = valid();
        bad["accessModes"] = json!(["ReadWriteOnce", "ReadWriteOncePod", "WriteAlways"]);
        bad["resources"]["requests"]["storage"] = json!("0");
        bad["volumeMode"] = json!("Raw");
        bad["storageClassName"] = json!("Fast_SSD");
        assert_eq!(
            messages(&validate_claim(&claim(bad))),
            [
                "spec.accessModes: Unsupported value: \"WriteAlways\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
                "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
                "spec.resources[storage]: Invalid value: \"0\": must be greater than zero",
                "spec.storageClassName: Invalid value: \"Fast_SSD\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.volumeMode: Unsupported value: \"Raw\": supported values: \"Block\", \"Filesystem\"",
            ]
        );
    }

    #[test]
    fn data_sources() {
        let mut snapshot = valid();
        snapshot["dataSource"] = json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "s1"});
        let snapshot = claim(snapshot);
        assert_eq!(snapshot["spec"]["dataSourceRef"]["kind"], "VolumeSnapshot", "copied into dataSourceRef");
        assert!(validate_claim(&snapshot).is_empty());
        let mut bad = valid();
        bad["dataSource"] = json!({"kind": "Secret"});
        bad["dataSourceRef"] = json!({"kind": "Secret", "name": "x"});
        assert_eq!(
            messages(&validate_claim(&claim(bad))),
            [
                "spec.dataSource.name: Required value",
                "spec.dataSource: Invalid value: \"Secret\": must be 'PersistentVolumeClaim' when referencing the default apiGroup",
                "spec.dataSourceRef: Invalid value: \"Secret\": must be 'PersistentVolumeClaim' when referencing the default apiGroup",
                "spec: Invalid value: spec.dataSource: must match dataSourceRef",
            ]
        );
    }

    fn bound(mut obj: Object, capacity: &str) -> Object {
        obj.insert("status".into(), json!({"phase": "Bound", "capacity": {"storage": capacity}}));
        obj
    }

    #[test]
    fn a_bound_claim_may_grow_but_nothing_else_changes() {
        let mut spec = valid();
        spec["volumeName"] = json!("pv-1");
        let old = bound(claim(spec.clone()), "1Gi");
        let mut grown = spec.clone();
        grown["resources"]["requests"]["storage"] = json!("2Gi");
        grown["volumeAttributesClassName"] = json!("gold");
        assert!(validate_claim_update(&bound(claim(grown.clone()), "1Gi"), &old).is_empty());
        let same_size = {
            let mut s = spec.clone();
            s["resources"]["requests"]["storage"] = json!("1024Mi");
            s
        };
        assert!(validate_claim_update(&bound(claim(same_size), "1Gi"), &old).is_empty(), "same value, other form");
        let expanded = bound(claim(grown.clone()), "1Gi");
        let mut shrunk = grown.clone();
        shrunk["resources"]["requests"]["storage"] = json!("1Gi");
        assert_eq!(
            messages(&validate_claim_update(&bound(claim(shrunk), "1Gi"), &expanded)),
            ["spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"]
        );
        let mut other_class = spec.clone();
        other_class["storageClassName"] = json!("fast");
        other_class["volumeMode"] = json!("Block");
        let found = messages(&validate_claim_update(&bound(claim(other_class), "1Gi"), &old));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with(
            "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"
        ));
        assert!(found[0].contains("- storageClassName: \"standard\"\n+ storageClassName: \"fast\""));
        assert_eq!(found[1], "volumeMode: Invalid value: \"Block\": field is immutable");
    }

    #[test]
    fn an_unbound_claim_gets_its_volume_and_class_once() {
        let mut spec = valid();
        spec.as_object_mut().unwrap().remove("storageClassName");
        let old = claim(spec.clone());
        let mut placed = spec.clone();
        placed["volumeName"] = json!("pv-1");
        placed["storageClassName"] = json!("standard");
        let placed = claim(placed);
        assert!(validate_claim_update(&placed, &old).is_empty());
        let mut moved = placed.clone();
        moved["spec"]["volumeName"] = json!("pv-2");
        assert_eq!(validate_claim_update(&moved, &placed).len(), 1);
        let mut resized = placed.clone();
        resized["spec"]["resources"]["requests"]["storage"] = json!("5Gi");
        assert_eq!(validate_claim_update(&resized, &placed).len(), 1, "only bound claims resize");
    }

    #[test]
    fn the_volume_attributes_class_is_never_unset() {
        let mut spec = valid();
        spec["volumeAttributesClassName"] = json!("gold");
        let old = bound(claim(spec.clone()), "1Gi");
        spec["volumeAttributesClassName"] = json!("");
        assert_eq!(
            messages(&validate_claim_update(&bound(claim(spec), "1Gi"), &old)),
            ["spec.volumeAttributesClassName: Forbidden: update from non-nil value to an empty string is forbidden"]
        );
    }
}
