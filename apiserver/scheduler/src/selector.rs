//! Label selectors (pods, namespaces) and node selector terms, compiled once per pod so the
//! per-node checks are plain comparisons.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

pub type Labels = BTreeMap<String, String>;

/// One requirement of a label selector or a node selector term.
#[derive(Clone, Debug, PartialEq)]
pub enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
    /// Node selector only: the label is an integer greater / less than the value.
    Gt(String, i64),
    Lt(String, i64),
    /// An operator we do not know: matches nothing (upstream rejects it at validation).
    Never,
}

impl Requirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Requirement::In(key, values) => labels.get(key).is_some_and(|v| values.contains(v)),
            Requirement::NotIn(key, values) => labels.get(key).is_none_or(|v| !values.contains(v)),
            Requirement::Exists(key) => labels.contains_key(key),
            Requirement::DoesNotExist(key) => !labels.contains_key(key),
            Requirement::Gt(key, bound) => {
                labels.get(key).and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v > *bound)
            }
            Requirement::Lt(key, bound) => {
                labels.get(key).and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v < *bound)
            }
            Requirement::Never => false,
        }
    }

    fn from_parts(key: &str, operator: &str, values: &[String]) -> Self {
        let key = key.to_string();
        let number = || values.first().and_then(|v| v.parse::<i64>().ok());
        match operator {
            "In" => Requirement::In(key, values.to_vec()),
            "NotIn" => Requirement::NotIn(key, values.to_vec()),
            "Exists" => Requirement::Exists(key),
            "DoesNotExist" => Requirement::DoesNotExist(key),
            "Gt" => number().map_or(Requirement::Never, |n| Requirement::Gt(key, n)),
            "Lt" => number().map_or(Requirement::Never, |n| Requirement::Lt(key, n)),
            _ => Requirement::Never,
        }
    }
}

/// A compiled `metav1.LabelSelector`: every requirement must match. An empty selector matches
/// everything; a missing one (`None` at the use site) matches nothing, as upstream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    pub fn new(selector: &LabelSelector) -> Self {
        let mut requirements: Vec<Requirement> =
            selector.match_labels.iter().flatten().map(|(k, v)| Requirement::In(k.clone(), vec![v.clone()])).collect();
        for e in selector.match_expressions.iter().flatten() {
            let values = e.values.as_deref().unwrap_or_default();
            requirements.push(match e.operator.as_str() {
                "In" | "NotIn" | "Exists" | "DoesNotExist" => Requirement::from_parts(&e.key, &e.operator, values),
                _ => Requirement::Never,
            });
        }
        Self { requirements }
    }

    /// A selector of `key=value` pairs (used for `matchLabelKeys`).
    pub fn with_equal(mut self, key: &str, value: &str) -> Self {
        self.requirements.push(Requirement::In(key.to_string(), vec![value.to_string()]));
        self
    }

    pub fn with_not_equal(mut self, key: &str, value: &str) -> Self {
        self.requirements.push(Requirement::NotIn(key.to_string(), vec![value.to_string()]));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

/// A compiled node selector term: label expressions and `metadata.name` field expressions,
/// all of which must match. A term with no expressions matches no node (upstream).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeTerm {
    labels: Vec<Requirement>,
    name: Vec<Requirement>,
}

const NAME_FIELD: &str = "metadata.name";

impl NodeTerm {
    pub fn new(term: &NodeSelectorTerm) -> Self {
        let compile = |r: &NodeSelectorRequirement| {
            Requirement::from_parts(&r.key, &r.operator, r.values.as_deref().unwrap_or_default())
        };
        let labels = term.match_expressions.iter().flatten().map(compile).collect();
        let name = term
            .match_fields
            .iter()
            .flatten()
            .map(|r| {
                // Only metadata.name with In/NotIn is a valid field selector here.
                if r.key == NAME_FIELD && matches!(r.operator.as_str(), "In" | "NotIn") {
                    Requirement::from_parts(NAME_FIELD, &r.operator, r.values.as_deref().unwrap_or_default())
                } else {
                    Requirement::Never
                }
            })
            .collect();
        Self { labels, name }
    }

    pub fn matches(&self, node_name: &str, labels: &Labels) -> bool {
        if self.labels.is_empty() && self.name.is_empty() {
            return false;
        }
        if !self.labels.iter().all(|r| r.matches(labels)) {
            return false;
        }
        if self.name.is_empty() {
            return true;
        }
        let fields: Labels = [(NAME_FIELD.to_string(), node_name.to_string())].into();
        self.name.iter().all(|r| r.matches(&fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn node_term_operators() {
        let node = labels(&[("zone", "a"), ("cores", "8")]);
        let term = |r: Vec<NodeSelectorRequirement>| {
            NodeTerm::new(&NodeSelectorTerm { match_expressions: Some(r), match_fields: None })
        };
        assert!(term(vec![req("zone", "In", &["a", "b"])]).matches("n", &node));
        assert!(!term(vec![req("zone", "NotIn", &["a"])]).matches("n", &node));
        assert!(term(vec![req("zone", "Exists", &[])]).matches("n", &node));
        assert!(term(vec![req("gpu", "DoesNotExist", &[])]).matches("n", &node));
        assert!(term(vec![req("cores", "Gt", &["4"])]).matches("n", &node));
        assert!(!term(vec![req("cores", "Lt", &["4"])]).matches("n", &node));
        assert!(!term(vec![req("zone", "Bogus", &["a"])]).matches("n", &node));
        assert!(!term(vec![]).matches("n", &node), "an empty term matches nothing");
    }

    #[test]
    fn node_term_match_fields_by_name() {
        let term = NodeTerm::new(&NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.name", "In", &["n1"])]),
        });
        assert!(term.matches("n1", &Labels::new()));
        assert!(!term.matches("n2", &Labels::new()));
    }

    #[test]
    fn label_selector_labels_and_expressions() {
        let selector = Selector::new(&LabelSelector {
            match_labels: Some([("app".to_string(), "web".to_string())].into()),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "NotIn".into(),
                values: Some(vec!["db".into()]),
            }]),
        });
        assert!(selector.matches(&labels(&[("app", "web")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "db")])));
        assert!(!selector.matches(&labels(&[("app", "api")])));
        assert!(Selector::new(&LabelSelector::default()).matches(&Labels::new()), "empty selects all");
    }
}
