//! Upstream's validation of Leases (`pkg/apis/coordination/validation`): a positive duration,
//! non-negative transitions, a coordinated-leader strategy upstream knows (or a qualified
//! custom one), and a preferred holder only with a strategy.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use serde_json::Value;

use super::checks::{self, field, text};
use crate::object::Object;

const STRATEGIES: &[&str] = &["OldestEmulationVersion"];

/// coordination.k8s.io/v1 Lease (create and update alike).
pub fn validate_lease(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let path = Path::new("spec");
    if let Some(duration) = spec.get("leaseDurationSeconds").and_then(Value::as_i64)
        && duration <= 0
    {
        errors.push(FieldError::invalid(path.child("leaseDurationSeconds"), duration, "must be greater than 0"));
    }
    checks::non_negative(&mut errors, &path.child("leaseTransitions"), spec.get("leaseTransitions"));
    let strategy = field(spec, "strategy").map(|s| s.as_str().unwrap_or_default());
    if let Some(strategy) = strategy {
        // Upstream names the field twice over: `spec.strategy.strategy`.
        let at = path.child("strategy").child("strategy");
        if strategy.contains('/') {
            checks::qualified_name(&mut errors, &at, strategy);
        } else {
            checks::one_of(&mut errors, &at, strategy, STRATEGIES);
        }
    }
    if !text(spec, "preferredHolder").is_empty() && strategy.is_none_or(str::is_empty) {
        errors.push(FieldError::forbidden(
            path.child("preferredHolder"),
            "may only be specified if `strategy` is defined",
        ));
    }
    errors
}

/// Lease update rules are the create rules.
pub fn validate_lease_update(new: &Object, _old: &Object) -> FieldErrors {
    validate_lease(new)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::checks::testing::messages;

    fn lease(spec: Value) -> Object {
        let Value::Object(obj) = json!({"metadata": {"name": "node-1", "namespace": "kube-node-lease"}, "spec": spec})
        else {
            unreachable!()
        };
        obj
    }

    #[test]
    fn realistic_leases_pass() {
        let heartbeat = lease(json!({"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                                     "renewTime": "2026-01-01T10:00:00.000000Z"}));
        assert!(validate_lease(&heartbeat).is_empty());
        let election = lease(json!({"holderIdentity": "a", "leaseDurationSeconds": 15, "leaseTransitions": 3,
                                    "strategy": "OldestEmulationVersion", "preferredHolder": "b"}));
        assert!(validate_lease(&election).is_empty());
        assert!(validate_lease(&lease(json!({"strategy": "example.com/mine"}))).is_empty());
    }

    #[test]
    fn bad_leases() {
        let bad = lease(json!({"leaseDurationSeconds": 0, "leaseTransitions": -1, "preferredHolder": "b"}));
        assert_eq!(
            messages(&validate_lease(&bad)),
            [
                "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
                "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
                "spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined",
            ]
        );
        assert_eq!(
            messages(&validate_lease(&lease(json!({"strategy": "Newest"})))),
            ["spec.strategy.strategy: Unsupported value: \"Newest\": supported values: \"OldestEmulationVersion\""]
        );
    }
}
