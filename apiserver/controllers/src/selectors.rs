//! Label selectors (`metav1.LabelSelector`) evaluated against labels, as upstream's
//! `LabelSelectorAsSelector`: an empty selector matches everything, a missing one nothing.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

/// Whether `labels` satisfy `selector` (`None` matches nothing).
pub fn matches(selector: Option<&LabelSelector>, labels: Option<&BTreeMap<String, String>>) -> bool {
    let Some(selector) = selector else { return false };
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    let by_label = selector.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    by_label && selector.match_expressions.iter().flatten().all(|r| requirement_holds(r, labels))
}

fn requirement_holds(requirement: &LabelSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&requirement.key);
    let values = requirement.values.as_deref().unwrap_or_default();
    match requirement.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}

/// Whether a selector selects nothing at all (empty selectors in workloads are refused by
/// validation, but controllers must not adopt every pod if one slips through).
pub fn is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && selector.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

/// The selector as a query string (`a=b,c in (d,e)`), for list calls.
pub fn to_query(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    for r in selector.match_expressions.iter().flatten() {
        let values = r.values.as_deref().unwrap_or_default().join(",");
        parts.push(match r.operator.as_str() {
            "In" => format!("{} in ({values})", r.key),
            "NotIn" => format!("{} notin ({values})", r.key),
            "Exists" => r.key.clone(),
            _ => format!("!{}", r.key),
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn requirement(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn labels_and_expressions_must_all_hold() {
        let selector = LabelSelector {
            match_labels: Some(labels(&[("app", "web")])),
            match_expressions: Some(vec![
                requirement("tier", "In", &["front", "edge"]),
                requirement("canary", "DoesNotExist", &[]),
            ]),
        };
        assert!(matches(Some(&selector), Some(&labels(&[("app", "web"), ("tier", "edge")]))));
        assert!(!matches(Some(&selector), Some(&labels(&[("app", "web"), ("tier", "back")]))));
        assert!(!matches(Some(&selector), Some(&labels(&[("app", "web"), ("tier", "front"), ("canary", "1")]))));
        assert!(!matches(Some(&selector), Some(&labels(&[("tier", "front")]))));
        assert_eq!(to_query(&selector), "app=web,tier in (front,edge),!canary");
    }

    #[test]
    fn empty_selects_all_and_missing_selects_none() {
        assert!(matches(Some(&LabelSelector::default()), None));
        assert!(!matches(None, Some(&labels(&[("a", "b")]))));
        assert!(matches(
            Some(&LabelSelector {
                match_expressions: Some(vec![requirement("x", "NotIn", &["1"])]),
                ..Default::default()
            }),
            Some(&labels(&[("x", "2")]))
        ));
    }
}
