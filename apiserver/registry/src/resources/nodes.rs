//! Upstream's validation of Nodes (`ValidateNode` and `ValidateNodeUpdate`): taints with
//! qualified keys, label values and known effects, unique by key and effect; pod CIDRs that are
//! CIDRs, one per IP family; non-negative (and, for counts, whole) capacity. Once set, the pod
//! CIDRs and provider ID never change.

use apiserver_machinery::field::{FieldError, FieldErrorType, FieldErrors, FieldValue, Path};
use apiserver_machinery::names;
use serde_json::Value;

use super::checks::net::{self, parse_cidr};
use super::checks::quantity::{self, Quantity};
use super::checks::{self, items, text};
use crate::object::Object;

const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];
/// Node resources counted in whole numbers.
const INTEGER_RESOURCES: &[&str] = &["pods"];

fn spec(obj: &Object) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

/// The pod CIDRs as upstream's internal Node has them: `podCIDRs`, else the old `podCIDR`.
fn pod_cidrs(obj: &Object) -> Vec<&str> {
    let cidrs: Vec<&str> = items(spec(obj), "podCIDRs").iter().filter_map(Value::as_str).collect();
    match text(spec(obj), "podCIDR") {
        single if cidrs.is_empty() && !single.is_empty() => vec![single],
        _ => cidrs,
    }
}

/// core/v1 Node, on create.
pub fn validate_node(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    taints(&mut errors, obj);
    resources(&mut errors, obj);
    let cidrs = pod_cidrs(obj);
    let path = Path::new("spec").child("podCIDRs");
    for (i, cidr) in cidrs.iter().enumerate() {
        net::cidr(&mut errors, &path.index(i), cidr);
    }
    if cidrs.len() > 1 {
        let parsed: Option<Vec<_>> = cidrs.iter().map(|c| parse_cidr(c)).collect();
        if let Some(parsed) = parsed {
            let dual_stack = parsed.iter().any(|c| c.is_ipv6()) && parsed.iter().any(|c| !c.is_ipv6());
            if !dual_stack || cidrs.len() > 2 {
                let shown = FieldValue::raw(serde_json::to_string(&cidrs).unwrap_or_default());
                errors.push(FieldError::invalid(&path, shown, "may specify no more than one CIDR for each IP family"));
            }
        }
        for (i, cidr) in cidrs.iter().enumerate() {
            if cidrs[..i].contains(cidr) {
                errors.push(FieldError::duplicate(path.index(i), *cidr));
            }
        }
    }
    errors
}

/// `validateNodeTaints` (upstream reports them under `metadata.taints`).
fn taints(errors: &mut FieldErrors, obj: &Object) {
    let path = Path::new("metadata").child("taints");
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (i, taint) in items(spec(obj), "taints").iter().enumerate() {
        let at = path.index(i);
        let (key, value, effect) = (text(taint, "key"), text(taint, "value"), text(taint, "effect"));
        checks::qualified_name(errors, &at.child("key"), key);
        let problems = names::label_value(value);
        if !problems.is_empty() {
            errors.push(FieldError::invalid(at.child("value"), value, problems.join(";")));
        }
        match effect {
            "" => errors.push(FieldError::required(at.child("effect"), "")),
            effect => checks::one_of(errors, &at.child("effect"), effect, TAINT_EFFECTS),
        }
        if seen.contains(&(key, effect)) {
            errors.push(FieldError {
                kind: FieldErrorType::Duplicate,
                field: at,
                value: Some(FieldValue::raw(taint.to_string())),
                detail: "taints must be unique by key and effect pair".into(),
            });
            continue;
        }
        seen.push((key, effect));
    }
}

/// `ValidateNodeResources`: capacity and allocatable quantities.
fn resources(errors: &mut FieldErrors, obj: &Object) {
    let status = obj.get("status").unwrap_or(&Value::Null);
    for list in ["capacity", "allocatable"] {
        for (resource, value) in checks::entries(status, list) {
            // Upstream joins the resource name as a path child, not a key.
            let at = Path::new("status").child(list).child(resource);
            if let Some(value) = Quantity::read(value, &at, errors) {
                quantity::non_negative(errors, &at, &value);
                if INTEGER_RESOURCES.contains(&resource.as_str()) && !value.is_integer() {
                    errors.push(FieldError::invalid(&at, value.text(), "must be an integer"));
                }
            }
        }
    }
}

/// core/v1 Node, on update: a pod CIDR or provider ID, once set, stays.
pub fn validate_node_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_node(new);
    resources(&mut errors, new);
    let addresses = items(new.get("status").unwrap_or(&Value::Null), "addresses");
    for (i, address) in addresses.iter().enumerate() {
        if addresses[..i].contains(address) {
            let path = Path::new("status").child("addresses").index(i);
            errors.push(FieldError::duplicate(path, FieldValue::raw(address.to_string())));
        }
    }
    let (new_cidrs, old_cidrs) = (pod_cidrs(new), pod_cidrs(old));
    let cidr_change = "node updates may not change podCIDR except from \"\" to valid";
    if !old_cidrs.is_empty() {
        if old_cidrs.len() != new_cidrs.len() {
            errors.push(FieldError::forbidden("spec.podCIDRs", cidr_change));
        } else {
            for _ in old_cidrs.iter().zip(&new_cidrs).filter(|(old, new)| old != new) {
                errors.push(FieldError::forbidden("spec.podCIDRs", cidr_change));
            }
        }
    }
    let (new_provider, old_provider) = (text(spec(new), "providerID"), text(spec(old), "providerID"));
    if !old_provider.is_empty() && old_provider != new_provider {
        errors.push(FieldError::forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    taints(&mut errors, new);
    if text(spec(new), "externalID") != text(spec(old), "externalID") {
        errors.push(FieldError::forbidden("spec.externalID", "may not be updated"));
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::checks::testing::messages;

    fn node(spec: Value, status: Value) -> Object {
        let Value::Object(obj) = json!({"metadata": {"name": "node-1"}, "spec": spec, "status": status}) else {
            unreachable!()
        };
        obj
    }

    /// What the node agent registers.
    fn registered() -> Object {
        node(
            json!({"podCIDR": "10.128.7.0/24", "podCIDRs": ["10.128.7.0/24"], "providerID": "kybernetes://node-1",
                   "taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]}),
            json!({"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}, "allocatable": {"cpu": "3900m", "pods": "110"},
                   "addresses": [{"type": "InternalIP", "address": "10.0.0.7"}, {"type": "Hostname", "address": "node-1"}]}),
        )
    }

    #[test]
    fn a_registered_node_passes() {
        assert_eq!(messages(&validate_node(&registered())), Vec::<String>::new());
        let dual = node(json!({"podCIDRs": ["10.1.0.0/24", "fd00::/64"]}), json!({}));
        assert!(validate_node(&dual).is_empty());
    }

    #[test]
    fn bad_nodes() {
        let bad = node(
            json!({"podCIDRs": ["10.1.0.0/24", "10.2.0.0/24", "10.1.0.0/24"],
                   "taints": [{"key": "a", "value": "-x", "effect": "Sometimes"}, {"key": "b"},
                              {"key": "c", "effect": "NoExecute"}, {"key": "c", "effect": "NoExecute", "value": "1"}]}),
            json!({"capacity": {"cpu": "-1", "pods": "1.5"}}),
        );
        let found = messages(&validate_node(&bad));
        assert_eq!(found.len(), 8, "{found:?}");
        assert!(found[0].starts_with("metadata.taints[0].value: Invalid value: \"-x\": a valid label must be"));
        assert_eq!(
            found[1],
            "metadata.taints[0].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""
        );
        assert_eq!(found[2], "metadata.taints[1].effect: Required value");
        assert_eq!(
            found[3],
            "metadata.taints[3]: Duplicate value: {\"effect\":\"NoExecute\",\"key\":\"c\",\"value\":\"1\"}: taints must be unique by key and effect pair"
        );
        assert_eq!(found[4], "status.capacity.cpu: Invalid value: \"-1\": must be greater than or equal to 0");
        assert_eq!(found[5], "status.capacity.pods: Invalid value: \"1.5\": must be an integer");
        assert_eq!(
            found[6],
            "spec.podCIDRs: Invalid value: [\"10.1.0.0/24\",\"10.2.0.0/24\",\"10.1.0.0/24\"]: may specify no more than one CIDR for each IP family"
        );
        assert_eq!(found[7], "spec.podCIDRs[2]: Duplicate value: \"10.1.0.0/24\"");
    }

    #[test]
    fn cidrs_and_provider_stay() {
        let old = registered();
        let mut tainted = old.clone();
        tainted["spec"]["taints"] = json!([]);
        tainted["spec"]["unschedulable"] = json!(true);
        assert!(validate_node_update(&tainted, &old).is_empty());
        let mut moved = old.clone();
        moved["spec"]["podCIDRs"] = json!(["10.128.8.0/24"]);
        moved["spec"]["podCIDR"] = json!("10.128.8.0/24");
        moved["spec"]["providerID"] = json!("other://node-1");
        assert_eq!(
            messages(&validate_node_update(&moved, &old)),
            [
                "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid",
                "spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid",
            ]
        );
        let unassigned = node(json!({}), json!({}));
        assert!(validate_node_update(&old, &unassigned).is_empty(), "a first CIDR and provider ID may be set");
    }
}
