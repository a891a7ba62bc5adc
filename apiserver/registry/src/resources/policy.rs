//! Upstream's validation of PodDisruptionBudgets (`pkg/apis/policy/validation`): at most one of
//! `minAvailable` and `maxUnavailable`, each a non-negative count or a percentage up to 100%,
//! a valid selector, and an unhealthy pod eviction policy upstream knows. The spec may change.

use apiserver_machinery::field::{FieldError, FieldErrors, FieldValue, Path};
use serde_json::Value;

use super::checks::selectors::label_selector;
use super::checks::{self, field, text};
use crate::object::Object;

/// `supportedUnhealthyPodEvictionPolicies`, sorted.
const EVICTION_POLICIES: &[&str] = &["AlwaysAllow", "IfHealthyBudget"];

/// policy/v1 PodDisruptionBudget (create and update alike).
pub fn validate_budget(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let path = Path::new("spec");
    let (min, max) = (field(spec, "minAvailable"), field(spec, "maxUnavailable"));
    if min.is_some() && max.is_some() {
        errors.push(FieldError::invalid(
            &path,
            FieldValue::raw(spec.to_string()),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for (key, value) in [("minAvailable", min), ("maxUnavailable", max)] {
        if let Some(value) = value {
            int_or_percent(&mut errors, &path.child(key), value);
        }
    }
    label_selector(&mut errors, &path.child("selector"), field(spec, "selector"));
    if field(spec, "unhealthyPodEvictionPolicy").is_some() {
        let policy = text(spec, "unhealthyPodEvictionPolicy");
        checks::one_of(&mut errors, &path.child("unhealthyPodEvictionPolicy"), policy, EVICTION_POLICIES);
    }
    errors
}

/// PodDisruptionBudget update rules are the create rules.
pub fn validate_budget_update(new: &Object, _old: &Object) -> FieldErrors {
    validate_budget(new)
}

/// `ValidatePositiveIntOrPercent` and `IsNotMoreThan100Percent`.
fn int_or_percent(errors: &mut FieldErrors, path: &Path, value: &Value) {
    match value {
        Value::String(text) => match percent(text) {
            None => errors.push(FieldError::invalid(
                path,
                text.as_str(),
                "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', \
                 regex used for validation is '[0-9]+%')",
            )),
            Some(p) if p > 100 => {
                errors.push(FieldError::invalid(path, text.as_str(), "must not be greater than 100%"))
            }
            Some(_) => {}
        },
        other => checks::non_negative(errors, path, Some(other)),
    }
}

/// The number of a `[0-9]+%` string.
fn percent(text: &str) -> Option<u64> {
    let digits = text.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::checks::testing::messages;

    fn budget(spec: Value) -> Object {
        let Value::Object(obj) = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec}) else {
            unreachable!()
        };
        obj
    }

    #[test]
    fn realistic_budgets_pass() {
        for spec in [
            json!({"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}),
            json!({"maxUnavailable": "25%", "selector": {"matchLabels": {"app": "web"}},
                   "unhealthyPodEvictionPolicy": "AlwaysAllow"}),
            json!({"minAvailable": "100%", "selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}}),
            json!({"maxUnavailable": 0}),
        ] {
            assert!(validate_budget(&budget(spec.clone())).is_empty(), "{spec}");
        }
    }

    #[test]
    fn both_bounds_negative_counts_and_bad_percentages() {
        let both = budget(json!({"minAvailable": 1, "maxUnavailable": 1}));
        assert_eq!(
            messages(&validate_budget(&both)),
            [
                "spec: Invalid value: {\"maxUnavailable\":1,\"minAvailable\":1}: minAvailable and maxUnavailable cannot be both set"
            ]
        );
        let bad = budget(json!({"minAvailable": -1, "unhealthyPodEvictionPolicy": "Never",
                                "selector": {"matchLabels": {"app": "-"}}}));
        let found = messages(&validate_budget(&bad));
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0], "spec.minAvailable: Invalid value: -1: must be greater than or equal to 0");
        assert!(found[1].starts_with("spec.selector.matchLabels: Invalid value: \"-\""));
        assert_eq!(
            found[2],
            "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Never\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\""
        );
        assert_eq!(
            messages(&validate_budget(&budget(json!({"maxUnavailable": "150%"})))),
            ["spec.maxUnavailable: Invalid value: \"150%\": must not be greater than 100%"]
        );
        assert!(
            messages(&validate_budget(&budget(json!({"maxUnavailable": "half"}))))[0]
                .starts_with("spec.maxUnavailable: Invalid value: \"half\": a valid percent string must be")
        );
    }
}
