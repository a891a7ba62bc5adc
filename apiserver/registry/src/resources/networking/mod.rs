//! Upstream's validation of `networking.k8s.io` objects (`pkg/apis/networking/validation`) and
//! the defaults it relies on (`pkg/apis/networking/v1/defaults.go`): Ingresses and
//! IngressClasses (`ingress.rs`), NetworkPolicies (`network_policy.rs`).

mod ingress;
mod network_policy;

pub use ingress::{
    default_ingress_class, validate_ingress, validate_ingress_class, validate_ingress_class_update,
    validate_ingress_update,
};
pub use network_policy::{default_network_policy, validate_network_policy, validate_network_policy_update};

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use serde_json::Value;

use super::checks::{self, text};
use super::plain::path_segment_problems;

/// A reference to an object by group, kind and name (`validateIngressTypedLocalObjectReference`,
/// and the common part of IngressClass parameters): kind and name are path segments.
fn typed_reference(errors: &mut FieldErrors, path: &Path, reference: &Value) {
    if let Some(group) = reference.get("apiGroup").and_then(Value::as_str) {
        checks::dns1123_subdomain(errors, &path.child("apiGroup"), group);
    }
    for key in ["kind", "name"] {
        match text(reference, key) {
            "" => errors.push(FieldError::required(path.child(key), "")),
            value => checks::invalid_each(errors, &path.child(key), value, path_segment_problems(value)),
        }
    }
}
