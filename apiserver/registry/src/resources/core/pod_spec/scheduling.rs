//! Where a pod may run (upstream's `ValidateTolerations`, `validateAffinity` and its node and
//! pod (anti-)affinity terms, `validateTopologySpreadConstraints`).

use std::collections::HashSet;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::Value;

use super::{field, int, invalid_each, list, one_of, text};
use crate::resources::checks::selectors::{self, label_selector};
use crate::resources::checks::{self, qualified_name};

const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
const SCHEDULE_ACTIONS: &[&str] = &["DoNotSchedule", "ScheduleAnyway"];
const INCLUSION_POLICIES: &[&str] = &["Honor", "Ignore"];

/// `tolerations`.
pub(super) fn validate_tolerations(tolerations: &[Value], path: &Path, errors: &mut FieldErrors) {
    for (i, toleration) in tolerations.iter().enumerate() {
        let at = path.index(i);
        let (key, operator, value, effect) = (
            text(toleration, "key"),
            text(toleration, "operator"),
            text(toleration, "value"),
            text(toleration, "effect"),
        );
        if !key.is_empty() {
            qualified_name(errors, &at.child("key"), key);
        }
        if key.is_empty() && operator != "Exists" {
            errors.push(FieldError::invalid(
                at.child("operator"),
                operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if field(toleration, "tolerationSeconds").is_some() && effect != "NoExecute" {
            errors.push(FieldError::invalid(
                at.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match operator {
            // Upstream reports a bad value at `operator`.
            "Equal" | "" => {
                let problems = names::label_value(value);
                if !problems.is_empty() {
                    errors.push(FieldError::invalid(at.child("operator"), value, problems.join(";")));
                }
            }
            "Exists" if !value.is_empty() => errors.push(FieldError::invalid(
                at.child("operator"),
                value,
                "value must be empty when `operator` is 'Exists'",
            )),
            "Exists" => {}
            other => errors.push(FieldError::not_supported(at.child("operator"), other, &["Equal", "Exists"])),
        }
        if !effect.is_empty() {
            one_of(errors, &at.child("effect"), effect, TAINT_EFFECTS);
        }
    }
}

/// `affinity`.
pub(super) fn validate_affinity(affinity: &Value, path: &Path, errors: &mut FieldErrors) {
    if let Some(node) = field(affinity, "nodeAffinity") {
        let at = path.child("nodeAffinity");
        if let Some(required) = field(node, "requiredDuringSchedulingIgnoredDuringExecution") {
            selectors::node_selector(errors, &at.child("requiredDuringSchedulingIgnoredDuringExecution"), required);
        }
        let preferred_path = at.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in list(node, "preferredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            validate_weight(term, &preferred_path.index(i), errors);
            let preference = term.get("preference").unwrap_or(&Value::Null);
            selectors::node_selector_term(errors, &preferred_path.index(i).child("preference"), preference, false);
        }
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(pod) = field(affinity, kind) else { continue };
        let at = path.child(kind);
        let required_path = at.child("requiredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in list(pod, "requiredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            validate_pod_affinity_term(term, &required_path.index(i), errors);
        }
        let preferred_path = at.child("preferredDuringSchedulingIgnoredDuringExecution");
        for (i, weighted) in list(pod, "preferredDuringSchedulingIgnoredDuringExecution").iter().enumerate() {
            validate_weight(weighted, &preferred_path.index(i), errors);
            let term = weighted.get("podAffinityTerm").unwrap_or(&Value::Null);
            validate_pod_affinity_term(term, &preferred_path.index(i).child("podAffinityTerm"), errors);
        }
    }
}

fn validate_weight(term: &Value, path: &Path, errors: &mut FieldErrors) {
    let weight = int(term, "weight").unwrap_or(0);
    if !(1..=100).contains(&weight) {
        errors.push(FieldError::invalid(path.child("weight"), weight, "must be in the range 1-100"));
    }
}

/// Upstream's `validatePodAffinityTerm`.
fn validate_pod_affinity_term(term: &Value, path: &Path, errors: &mut FieldErrors) {
    let selector = field(term, "labelSelector");
    label_selector(errors, &path.child("labelSelector"), selector);
    label_selector(errors, &path.child("namespaceSelector"), field(term, "namespaceSelector"));
    for namespace in list(term, "namespaces") {
        let namespace = namespace.as_str().unwrap_or_default();
        invalid_each(errors, &path.child("namespace"), namespace, names::dns1123_label(namespace));
    }
    let match_keys = list(term, "matchLabelKeys");
    let mismatch_keys = list(term, "mismatchLabelKeys");
    for (kind, keys) in [("matchLabelKeys", match_keys), ("mismatchLabelKeys", mismatch_keys)] {
        if keys.is_empty() {
            continue;
        }
        if selector.is_none() {
            errors.push(FieldError::forbidden(path.child(kind), "must not be specified when labelSelector is not set"));
            continue;
        }
        for (i, key) in keys.iter().enumerate() {
            qualified_name(errors, &path.child(kind).index(i), key.as_str().unwrap_or_default());
        }
    }
    let mismatched: HashSet<&str> = mismatch_keys.iter().filter_map(Value::as_str).collect();
    for (i, key) in match_keys.iter().filter_map(Value::as_str).enumerate() {
        if mismatched.contains(key) {
            errors.push(FieldError::invalid(
                path.child("matchLabelKeys").index(i),
                key,
                "exists in both matchLabelKeys and mismatchLabelKeys",
            ));
        }
    }
    let topology_key = text(term, "topologyKey");
    if topology_key.is_empty() {
        errors.push(FieldError::required(path.child("topologyKey"), "can not be empty"));
    }
    qualified_name(errors, &path.child("topologyKey"), topology_key);
}

/// The label keys a selector uses (`matchLabels` and `matchExpressions`).
fn selector_keys(selector: Option<&Value>) -> Vec<&str> {
    let Some(selector) = selector.filter(|s| !s.is_null()) else { return Vec::new() };
    let mut keys: Vec<&str> = checks::entries(selector, "matchLabels").map(|(k, _)| k.as_str()).collect();
    keys.extend(list(selector, "matchExpressions").iter().map(|r| text(r, "key")));
    keys
}

/// `topologySpreadConstraints`.
pub(super) fn validate_topology_spread(constraints: &[Value], path: &Path, errors: &mut FieldErrors) {
    for (i, constraint) in constraints.iter().enumerate() {
        let at = path.index(i);
        let max_skew = int(constraint, "maxSkew").unwrap_or(0);
        if max_skew <= 0 {
            errors.push(FieldError::invalid(at.child("maxSkew"), max_skew, "must be greater than zero"));
        }
        let (topology_key, action) = (text(constraint, "topologyKey"), text(constraint, "whenUnsatisfiable"));
        if topology_key.is_empty() {
            errors.push(FieldError::required(at.child("topologyKey"), "can not be empty"));
        }
        one_of(errors, &at.child("whenUnsatisfiable"), action, SCHEDULE_ACTIONS);
        let repeated = constraints[i + 1..]
            .iter()
            .any(|c| text(c, "topologyKey") == topology_key && text(c, "whenUnsatisfiable") == action);
        if repeated {
            errors.push(FieldError::duplicate(
                at.child("{topologyKey, whenUnsatisfiable}"),
                format!("{{{topology_key}, {action}}}"),
            ));
        }
        if let Some(min_domains) = int(constraint, "minDomains") {
            if min_domains <= 0 {
                errors.push(FieldError::invalid(at.child("minDomains"), min_domains, "must be greater than zero"));
            }
            if action != "DoNotSchedule" {
                errors.push(FieldError::invalid(
                    at.child("minDomains"),
                    min_domains,
                    format!("can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}"),
                ));
            }
        }
        for policy in ["nodeAffinityPolicy", "nodeTaintsPolicy"] {
            if let Some(value) = field(constraint, policy).and_then(Value::as_str) {
                one_of(errors, &at.child(policy), value, INCLUSION_POLICIES);
            }
        }
        let selector = field(constraint, "labelSelector");
        let match_keys = list(constraint, "matchLabelKeys");
        if !match_keys.is_empty() {
            let keys_path = at.child("matchLabelKeys");
            if selector.is_none() {
                errors.push(FieldError::forbidden(&keys_path, "must not be specified when labelSelector is not set"));
            }
            let selected = selector_keys(selector);
            for (j, key) in match_keys.iter().enumerate() {
                let key = key.as_str().unwrap_or_default();
                qualified_name(errors, &keys_path.index(j), key);
                if selected.contains(&key) {
                    errors.push(FieldError::invalid(
                        keys_path.index(j),
                        key,
                        "exists in both matchLabelKeys and labelSelector",
                    ));
                }
            }
        }
        label_selector(errors, &at.child("labelSelector"), selector);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{assert_errors, nginx_pod_spec};
    use super::super::{Owner, validate_pod_spec};
    use super::*;

    fn with(key: &str, value: Value) -> FieldErrors {
        let mut spec = nginx_pod_spec();
        spec[key] = value;
        validate_pod_spec(&spec, &Path::new("spec"), Owner::Pod)
    }

    #[test]
    fn tolerations() {
        assert_errors(
            with(
                "tolerations",
                json!([
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                    {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
                    {"operator": "Exists"},
                ]),
            ),
            &[],
        );
        assert_errors(
            with(
                "tolerations",
                json!([
                    {"operator": "Equal", "value": "x"},
                    {"key": "a", "operator": "Exists", "value": "x", "effect": "NoSchedule", "tolerationSeconds": 5},
                    {"key": "b", "operator": "Matches", "effect": "Never"},
                ]),
            ),
            &[
                "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
                "spec.tolerations[1].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
                "spec.tolerations[1].operator: Invalid value: \"x\": value must be empty when `operator` is 'Exists'",
                "spec.tolerations[2].operator: Unsupported value: \"Matches\": supported values: \"Equal\", \"Exists\"",
                "spec.tolerations[2].effect: Unsupported value: \"Never\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
            ],
        );
    }

    #[test]
    fn affinity() {
        let term = |topology: &str| json!({"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": topology});
        assert_errors(
            with(
                "affinity",
                json!({
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                                                  {"key": "gpu", "operator": "Gt", "values": ["1", "2"]},
                                                  {"key": "zone", "operator": "Near", "values": ["a"]}],
                             "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]},
                                             {"key": "spec.unschedulable", "operator": "In", "values": ["true"]}]}]},
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {"weight": 0, "preference": {"matchExpressions": [{"key": "disk", "operator": "Exists"}]}}]},
                    "podAntiAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [term("kubernetes.io/hostname"), term("")],
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {"weight": 100, "podAffinityTerm": term("topology.kubernetes.io/zone")}]},
                }),
            ),
            &[
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[2].operator: Invalid value: \"Near\": not a valid selector operator",
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[1].key: Invalid value: \"spec.unschedulable\": not a valid field selector key",
                "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100",
                "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[1].topologyKey: Required value: can not be empty",
                "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[1].topologyKey: Invalid value: \"\": name part must be non-empty",
            ],
        );
        assert_errors(
            with(
                "affinity",
                json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}),
            ),
            &[
                "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term",
            ],
        );
    }

    #[test]
    fn topology_spread_constraints() {
        let good = json!({"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
                          "labelSelector": {"matchLabels": {"app": "web"}}, "matchLabelKeys": ["pod-template-hash"],
                          "minDomains": 2, "nodeTaintsPolicy": "Honor"});
        assert_errors(with("topologySpreadConstraints", json!([good])), &[]);
        assert_errors(
            with(
                "topologySpreadConstraints",
                json!([
                    {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "Sometimes"},
                    {"maxSkew": 1, "topologyKey": "", "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 3,
                     "matchLabelKeys": ["app"], "labelSelector": {"matchLabels": {"app": "web"}}},
                    {"maxSkew": 1, "topologyKey": "", "whenUnsatisfiable": "ScheduleAnyway"},
                ]),
            ),
            &[
                "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero",
                "spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: \"Sometimes\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
                "spec.topologySpreadConstraints[1].topologyKey: Required value: can not be empty",
                "spec.topologySpreadConstraints[1].{topologyKey, whenUnsatisfiable}: Duplicate value: \"{, ScheduleAnyway}\"",
                "spec.topologySpreadConstraints[1].minDomains: Invalid value: 3: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
                "spec.topologySpreadConstraints[1].matchLabelKeys[0]: Invalid value: \"app\": exists in both matchLabelKeys and labelSelector",
                "spec.topologySpreadConstraints[2].topologyKey: Required value: can not be empty",
            ],
        );
    }
}
