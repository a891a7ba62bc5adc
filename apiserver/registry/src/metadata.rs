//! `metadata` rules every resource shares (upstream's `ValidateObjectMeta`, `BeforeCreate`,
//! `BeforeUpdate`): system fields set on create and carried over on update, and validation of
//! names, labels, annotations, finalizers and owner references.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use rand::Rng;
use serde_json::{Value, json};

use crate::object::{Object, meta_str, metadata, metadata_mut, now, set_meta};
use crate::strategy::Strategy;

/// Largest total size of a metadata's annotations (keys plus values), upstream's limit.
pub const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// Fields only the server sets: whatever a client sends in them on create is dropped.
const SERVER_SET_ON_CREATE: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

/// Characters of generated name suffixes: no vowels (no words), no look-alikes (upstream's).
const NAME_SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const NAME_SUFFIX_LEN: usize = 5;
/// Upstream truncates generateName prefixes so generated names fit a DNS label.
const MAX_GENERATE_NAME_PREFIX: usize = 63 - NAME_SUFFIX_LEN;
/// Finalizers core types accept without a domain prefix.
const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

/// Sets the system fields of a new object: name from `generateName`, namespace, uid,
/// creationTimestamp, generation.
pub fn prepare_create(strategy: &dyn Strategy, obj: &mut Object, namespace: Option<&str>) {
    let meta = metadata_mut(obj);
    for field in SERVER_SET_ON_CREATE {
        meta.remove(*field);
    }
    let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    let generate = meta.get("generateName").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() && !generate.is_empty() {
        let prefix: String = generate.chars().take(MAX_GENERATE_NAME_PREFIX).collect();
        let mut rng = rand::rng();
        let suffix: String = (0..NAME_SUFFIX_LEN)
            .map(|_| NAME_SUFFIX_ALPHABET[rng.random_range(0..NAME_SUFFIX_ALPHABET.len())] as char)
            .collect();
        meta.insert("name".into(), json!(format!("{prefix}{suffix}")));
    }
    match namespace {
        Some(ns) => meta.insert("namespace".into(), json!(ns)),
        None => meta.remove("namespace"),
    };
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now()));
    if strategy.tracks_generation() {
        meta.insert("generation".into(), json!(1));
    }
}

/// Carries the fields a client may not change over from the stored object, and bumps the
/// generation when the spec changed.
pub fn prepare_update(strategy: &dyn Strategy, new: &mut Object, old: &Object) {
    let old_meta = metadata(old).cloned().unwrap_or_default();
    let meta = metadata_mut(new);
    // An empty uid means "unchanged" (a different one is a failed precondition, checked by the
    // registry); clients cannot change the others at all.
    if meta.get("uid").is_none_or(|v| v.is_null() || v == "")
        && let Some(uid) = old_meta.get("uid")
    {
        meta.insert("uid".into(), uid.clone());
    }
    for field in ["creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink"] {
        match old_meta.get(field) {
            Some(value) => meta.insert(field.to_string(), value.clone()),
            None => meta.remove(field),
        };
    }
    meta.remove("resourceVersion");
    if strategy.tracks_generation() && spec_changed(new, old) {
        let generation = old_meta.get("generation").and_then(Value::as_i64).unwrap_or(0) + 1;
        set_meta(new, "generation", Some(json!(generation)));
    }
}

/// Whether anything but `metadata` and `status` differs.
fn spec_changed(new: &Object, old: &Object) -> bool {
    let relevant = |o: &Object| -> Object {
        o.iter()
            .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    relevant(new) != relevant(old)
}

/// Validates the metadata of a new object.
pub fn validate_create(strategy: &dyn Strategy, obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let path = Path::new("metadata");
    let name = meta_str(obj, "name");
    if name.is_empty() {
        errors.push(FieldError::required(path.child("name"), "name or generateName is required"));
    } else {
        for problem in strategy.validate_name(name) {
            errors.push(FieldError::invalid(path.child("name"), name, problem));
        }
    }
    let namespace = meta_str(obj, "namespace");
    if strategy.resource().namespaced {
        if namespace.is_empty() {
            errors.push(FieldError::required(path.child("namespace"), ""));
        } else {
            for problem in names::dns1123_label(namespace) {
                errors.push(FieldError::invalid(path.child("namespace"), namespace, problem));
            }
        }
    } else if !namespace.is_empty() {
        errors.push(FieldError::forbidden(path.child("namespace"), "not allowed on this type"));
    }
    validate_common(obj, &path, &mut errors);
    errors
}

/// Validates the metadata of an update against the stored object.
pub fn validate_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let path = Path::new("metadata");
    for field in ["name", "namespace", "uid"] {
        let (new_value, old_value) = (meta_str(new, field), meta_str(old, field));
        if new_value != old_value {
            errors.push(FieldError::invalid(path.child(field), new_value, "field is immutable"));
        }
    }
    if crate::object::is_deleting(old) {
        let before = crate::object::finalizers(old);
        let added: Vec<String> = crate::object::finalizers(new).into_iter().filter(|f| !before.contains(f)).collect();
        if !added.is_empty() {
            errors.push(FieldError::forbidden(
                path.child("finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                ),
            ));
        }
    }
    validate_common(new, &path, &mut errors);
    errors
}

/// Problems with one finalizer name (upstream's `ValidateFinalizerName` plus the core rule
/// that unqualified names must be standard ones).
pub fn finalizer_problems(finalizer: &str) -> Vec<String> {
    let mut problems = names::qualified_name(finalizer);
    if problems.is_empty() && !finalizer.contains('/') && !STANDARD_FINALIZERS.contains(&finalizer) {
        problems.push("name is neither a standard finalizer name nor is it fully qualified".into());
    }
    problems
}

fn validate_common(obj: &Object, path: &Path, errors: &mut FieldErrors) {
    let Some(meta) = metadata(obj) else { return };
    if let Some(labels) = meta.get("labels").and_then(Value::as_object) {
        let labels_path = path.child("labels");
        for (key, value) in labels {
            for problem in names::qualified_name(key) {
                errors.push(FieldError::invalid(&labels_path, key.as_str(), problem));
            }
            let value = value.as_str().unwrap_or_default();
            for problem in names::label_value(value) {
                errors.push(FieldError::invalid(&labels_path, value, problem));
            }
        }
    }
    if let Some(annotations) = meta.get("annotations").and_then(Value::as_object) {
        let annotations_path = path.child("annotations");
        let mut total = 0;
        for (key, value) in annotations {
            for problem in names::qualified_name(&key.to_lowercase()) {
                errors.push(FieldError::invalid(&annotations_path, key.as_str(), problem));
            }
            total += key.len() + value.as_str().map_or(0, str::len);
        }
        if total > MAX_ANNOTATIONS_BYTES {
            errors.push(FieldError::too_long(&annotations_path, MAX_ANNOTATIONS_BYTES));
        }
    }
    if let Some(finalizers) = meta.get("finalizers").and_then(Value::as_array) {
        let finalizers_path = path.child("finalizers");
        let names: Vec<&str> = finalizers.iter().map(|f| f.as_str().unwrap_or_default()).collect();
        for finalizer in &names {
            for problem in finalizer_problems(finalizer) {
                errors.push(FieldError::invalid(&finalizers_path, *finalizer, problem));
            }
        }
        if names.contains(&"orphan") && names.contains(&"foregroundDeletion") {
            errors.push(FieldError::invalid(
                &finalizers_path,
                format!("{names:?}"),
                "finalizer orphan and foregroundDeletion cannot be both set",
            ));
        }
    }
    if let Some(owners) = meta.get("ownerReferences").and_then(Value::as_array) {
        let owners_path = path.child("ownerReferences");
        let mut controllers = 0;
        for (i, owner) in owners.iter().enumerate() {
            let field = |name: &str| owner.get(name).and_then(Value::as_str).unwrap_or_default();
            for required in ["apiVersion", "kind", "name", "uid"] {
                if field(required).is_empty() {
                    errors.push(FieldError::required(owners_path.index(i).child(required), ""));
                }
            }
            if owner.get("controller").and_then(Value::as_bool) == Some(true) {
                controllers += 1;
            }
        }
        if controllers > 1 {
            errors.push(FieldError::invalid(
                &owners_path,
                controllers,
                "Only one reference can have Controller set to true",
            ));
        }
    }
}
