//! The `pod-template-hash` label: which ReplicaSet belongs to which pod template. Same template
//! (and collision count), same hash; the value is a valid label made of upstream's "safe"
//! alphabet (no vowels, so it never spells words), like upstream's `ComputeHash`.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

/// The label (and selector term) a Deployment adds to its ReplicaSets' templates.
pub const HASH_LABEL: &str = "pod-template-hash";

const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-1a, 32 bits: small, stable across releases and platforms.
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |hash, b| (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

/// The hash of a template; `collision_count` (status.collisionCount) changes it when a
/// ReplicaSet of that name already exists with another template.
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut bytes = canonical(template).to_string().into_bytes();
    if let Some(count) = collision_count {
        bytes.extend_from_slice(&count.to_le_bytes());
    }
    fnv1a32(&bytes)
        .to_string()
        .bytes()
        .map(|b| char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()]))
        .collect()
}

/// Whether two templates are equal once the hash label is ignored (upstream `EqualIgnoreHash`;
/// missing and empty fields count as equal, as upstream's semantic equality has it).
pub fn equal_ignoring_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    canonical(a) == canonical(b)
}

/// The template as JSON without the hash label and without empty or null fields.
fn canonical(template: &PodTemplateSpec) -> Value {
    let mut value = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Some(labels) = value.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
        labels.remove(HASH_LABEL);
    }
    prune(&mut value);
    value
}

fn prune(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                prune(v);
            }
            map.retain(|_, v| !is_empty(v));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn template(image: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "web".to_string())].into()),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container { name: "c".into(), image: Some(image.into()), ..Default::default() }],
                ..Default::default()
            }),
        }
    }

    #[test]
    fn same_template_same_hash_and_a_valid_label_value() {
        let hash = template_hash(&template("nginx:1"), None);
        assert_eq!(hash, template_hash(&template("nginx:1"), None));
        assert!(!hash.is_empty() && hash.len() <= 10);
        assert!(hash.bytes().all(|b| SAFE_ALPHABET.contains(&b)));
        assert_ne!(hash, template_hash(&template("nginx:2"), None));
        assert_ne!(hash, template_hash(&template("nginx:1"), Some(1)));
    }

    #[test]
    fn the_hash_label_and_empty_fields_do_not_make_templates_differ() {
        let mut labeled = template("nginx:1");
        labeled.metadata.as_mut().unwrap().labels.as_mut().unwrap().insert(HASH_LABEL.into(), "abc".into());
        labeled.metadata.as_mut().unwrap().annotations = Some(Default::default());
        assert!(equal_ignoring_hash(&labeled, &template("nginx:1")));
        assert_eq!(template_hash(&labeled, None), template_hash(&template("nginx:1"), None));
        assert!(!equal_ignoring_hash(&labeled, &template("nginx:2")));
    }
}
