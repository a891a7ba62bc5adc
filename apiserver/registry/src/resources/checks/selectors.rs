//! Selector rules: `metav1.LabelSelector` and label maps (`meta/v1/validation`), node
//! selectors (`ValidateNodeSelector`, PersistentVolume node affinity) and topology selector
//! terms (StorageClass `allowedTopologies`).

use std::collections::{BTreeMap, BTreeSet};

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::Value;

use super::{invalid_each, items, qualified_name, text};

/// `ValidateLabels`: qualified keys, valid values.
pub fn labels(errors: &mut FieldErrors, path: &Path, map: Option<&Value>) {
    for (key, value) in map.and_then(Value::as_object).into_iter().flatten() {
        qualified_name(errors, path, key);
        let value = value.as_str().unwrap_or_default();
        invalid_each(errors, path, value, names::label_value(value));
    }
}

/// `ValidateLabelSelector` (nothing to check when there is no selector).
pub fn label_selector(errors: &mut FieldErrors, path: &Path, selector: Option<&Value>) {
    let Some(selector) = selector.filter(|s| !s.is_null()) else { return };
    labels(errors, &path.child("matchLabels"), selector.get("matchLabels"));
    for (i, requirement) in items(selector, "matchExpressions").iter().enumerate() {
        let at = path.child("matchExpressions").index(i);
        let values = items(requirement, "values");
        match text(requirement, "operator") {
            "In" | "NotIn" if values.is_empty() => errors
                .push(FieldError::required(at.child("values"), "must be specified when `operator` is 'In' or 'NotIn'")),
            "Exists" | "DoesNotExist" if !values.is_empty() => errors.push(FieldError::forbidden(
                at.child("values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.push(FieldError::invalid(at.child("operator"), other, "not a valid selector operator")),
        }
        qualified_name(errors, &at.child("key"), text(requirement, "key"));
        label_values(errors, &at.child("values"), values);
    }
}

fn label_values(errors: &mut FieldErrors, path: &Path, values: &[Value]) {
    for (i, value) in values.iter().enumerate() {
        let value = value.as_str().unwrap_or_default();
        invalid_each(errors, &path.index(i), value, names::label_value(value));
    }
}

/// `ValidateNodeSelector`: at least one term, each with valid label and field requirements.
pub fn node_selector(errors: &mut FieldErrors, path: &Path, selector: &Value) {
    let terms_path = path.child("nodeSelectorTerms");
    let terms = items(selector, "nodeSelectorTerms");
    if terms.is_empty() {
        errors.push(FieldError::required(terms_path, "must have at least one node selector term"));
        return;
    }
    for (i, term) in terms.iter().enumerate() {
        node_selector_term(errors, &terms_path.index(i), term, true);
    }
}

/// `ValidateNodeSelectorTerm`: its label and field requirements. `check_values` is false for a
/// pod's preferred node affinity terms, which may name label values no node has (they only
/// weigh).
pub fn node_selector_term(errors: &mut FieldErrors, path: &Path, term: &Value, check_values: bool) {
    for (j, requirement) in items(term, "matchExpressions").iter().enumerate() {
        node_label_requirement(errors, &path.child("matchExpressions").index(j), requirement, check_values);
    }
    for (j, requirement) in items(term, "matchFields").iter().enumerate() {
        node_field_requirement(errors, &path.child("matchFields").index(j), requirement);
    }
}

/// `ValidateNodeSelectorRequirement`.
fn node_label_requirement(errors: &mut FieldErrors, path: &Path, requirement: &Value, check_values: bool) {
    let values = items(requirement, "values");
    match text(requirement, "operator") {
        "In" | "NotIn" if values.is_empty() => errors
            .push(FieldError::required(path.child("values"), "must be specified when `operator` is 'In' or 'NotIn'")),
        "Exists" | "DoesNotExist" if !values.is_empty() => errors.push(FieldError::forbidden(
            path.child("values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "Gt" | "Lt" if values.len() != 1 => errors.push(FieldError::required(
            path.child("values"),
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
        other => errors.push(FieldError::invalid(path.child("operator"), other, "not a valid selector operator")),
    }
    qualified_name(errors, &path.child("key"), text(requirement, "key"));
    if check_values {
        label_values(errors, &path.child("values"), values);
    }
}

/// `ValidateNodeFieldSelectorRequirement`: only `metadata.name`, with one value.
fn node_field_requirement(errors: &mut FieldErrors, path: &Path, requirement: &Value) {
    let values = items(requirement, "values");
    match text(requirement, "operator") {
        "In" | "NotIn" if values.len() != 1 => errors.push(FieldError::required(
            path.child("values"),
            "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
        )),
        "In" | "NotIn" => {}
        other => errors.push(FieldError::invalid(path.child("operator"), other, "not a valid selector operator")),
    }
    let key = text(requirement, "key");
    if key != "metadata.name" {
        errors.push(FieldError::invalid(path.child("key"), key, "not a valid field selector key"));
        return;
    }
    for (i, value) in values.iter().enumerate() {
        let value = value.as_str().unwrap_or_default();
        invalid_each(errors, &path.child("values").index(i), value, names::dns1123_subdomain(value));
    }
}

/// `ValidateTopologySelectorTerm`: each key once, each with distinct values; the term's
/// key → values map (to find duplicate terms).
pub fn topology_term(errors: &mut FieldErrors, path: &Path, term: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut keys = BTreeMap::new();
    let expressions = path.child("matchLabelExpressions");
    for (i, requirement) in items(term, "matchLabelExpressions").iter().enumerate() {
        let at = expressions.index(i);
        let values_path = at.child("values");
        let values = items(requirement, "values");
        if values.is_empty() {
            errors.push(FieldError::required(&values_path, ""));
        }
        let mut seen = BTreeSet::new();
        for (j, value) in values.iter().enumerate() {
            let value = value.as_str().unwrap_or_default().to_string();
            if !seen.insert(value.clone()) {
                errors.push(FieldError::duplicate(values_path.index(j), value));
            }
        }
        let key = text(requirement, "key");
        qualified_name(errors, &at.child("key"), key);
        if keys.insert(key.to_string(), seen).is_some() {
            errors.push(FieldError::duplicate(at.child("key"), key));
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(check: impl FnOnce(&mut FieldErrors)) -> Vec<String> {
        let mut errors = FieldErrors::default();
        check(&mut errors);
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn label_selectors() {
        let path = Path::new("spec.selector");
        let good = json!({"matchLabels": {"app": "web"},
                          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]},
                                               {"key": "x", "operator": "Exists"}]});
        assert!(messages(|e| label_selector(e, &path, Some(&good))).is_empty());
        assert!(messages(|e| label_selector(e, &path, None)).is_empty());
        let bad = json!({"matchLabels": {"app": "-web"},
                         "matchExpressions": [{"key": "tier", "operator": "In"},
                                              {"key": "x", "operator": "Exists", "values": ["a"]},
                                              {"key": "bad key", "operator": "Near"}]});
        let found = messages(|e| label_selector(e, &path, Some(&bad)));
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(found[0].starts_with("spec.selector.matchLabels: Invalid value: \"-web\""));
        assert_eq!(
            found[1],
            "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"
        );
        assert!(found[2].starts_with("spec.selector.matchExpressions[1].values: Forbidden"));
        assert_eq!(
            found[3],
            "spec.selector.matchExpressions[2].operator: Invalid value: \"Near\": not a valid selector operator"
        );
        assert!(found[4].starts_with("spec.selector.matchExpressions[2].key: Invalid value: \"bad key\""));
    }

    #[test]
    fn node_selectors() {
        let path = Path::new("spec.nodeAffinity.required");
        let good = json!({"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]}],
            "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}]});
        assert!(messages(|e| node_selector(e, &path, &good)).is_empty());
        assert_eq!(
            messages(|e| node_selector(e, &path, &json!({"nodeSelectorTerms": []}))),
            ["spec.nodeAffinity.required.nodeSelectorTerms: Required value: must have at least one node selector term"]
        );
        let bad = json!({"nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Gt", "values": []}],
            "matchFields": [{"key": "spec.nodeName", "operator": "In", "values": ["n"]}]}]});
        let found = messages(|e| node_selector(e, &path, &bad));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("matchExpressions[0].values: Required value: must be specified single value"));
        assert!(
            found[1].contains("matchFields[0].key: Invalid value: \"spec.nodeName\": not a valid field selector key")
        );
    }

    #[test]
    fn topology_terms() {
        let path = Path::new("allowedTopologies").index(0);
        let term = json!({"matchLabelExpressions": [
            {"key": "topology.kubernetes.io/zone", "values": ["a", "a"]},
            {"key": "topology.kubernetes.io/zone", "values": []}]});
        let found = messages(|e| {
            topology_term(e, &path, &term);
        });
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].ends_with("matchLabelExpressions[0].values[1]: Duplicate value: \"a\""));
        assert!(found[1].ends_with("matchLabelExpressions[1].values: Required value"));
        assert!(found[2].ends_with("matchLabelExpressions[1].key: Duplicate value: \"topology.kubernetes.io/zone\""));
    }
}
