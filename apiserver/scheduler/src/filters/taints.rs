//! TaintToleration: `NoSchedule`/`NoExecute` taints must be tolerated; NodeUnschedulable's
//! toleration of `node.kubernetes.io/unschedulable`.

use k8s_openapi::api::core::v1::{Taint, Toleration};

pub const UNSCHEDULABLE_TAINT: &str = "node.kubernetes.io/unschedulable";

/// Upstream's `ToleratesTaint`: effect empty or equal; an empty key with `Exists` matches every
/// taint; `Exists` ignores the value, `Equal` (the default) compares it.
pub fn tolerates(toleration: &Toleration, key: &str, value: &str, effect: &str) -> bool {
    if let Some(e) = toleration.effect.as_deref().filter(|e| !e.is_empty())
        && e != effect
    {
        return false;
    }
    let tkey = toleration.key.as_deref().unwrap_or_default();
    let operator = toleration.operator.as_deref().unwrap_or("Equal");
    if tkey.is_empty() {
        return operator == "Exists";
    }
    if tkey != key {
        return false;
    }
    match operator {
        "Exists" => true,
        "Equal" | "" => toleration.value.as_deref().unwrap_or_default() == value,
        _ => false,
    }
}

fn tolerated(taint: &Taint, tolerations: &[Toleration]) -> bool {
    let value = taint.value.as_deref().unwrap_or_default();
    tolerations.iter().any(|t| tolerates(t, &taint.key, value, &taint.effect))
}

/// The first `NoSchedule`/`NoExecute` taint none of `tolerations` tolerates.
pub fn first_untolerated<'a>(taints: &'a [Taint], tolerations: &[Toleration]) -> Option<&'a Taint> {
    taints.iter().find(|t| matches!(t.effect.as_str(), "NoSchedule" | "NoExecute") && !tolerated(t, tolerations))
}

/// How many `PreferNoSchedule` taints are not tolerated (the TaintToleration score's input).
pub fn intolerable_preferred(taints: &[Taint], tolerations: &[Toleration]) -> usize {
    taints.iter().filter(|t| t.effect == "PreferNoSchedule" && !tolerated(t, tolerations)).count()
}

pub fn tolerates_unschedulable(tolerations: &[Toleration]) -> bool {
    tolerations.iter().any(|t| tolerates(t, UNSCHEDULABLE_TAINT, "", "NoSchedule"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint { key: key.into(), value: Some(value.into()), effect: effect.into(), time_added: None }
    }

    fn toleration(key: &str, op: &str, value: &str, effect: &str) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some(op.into()),
            value: Some(value.into()),
            effect: Some(effect.into()),
            toleration_seconds: None,
        }
    }

    #[test]
    fn untolerated_no_schedule_and_no_execute_taints_reject() {
        let taints = [taint("gpu", "true", "NoSchedule"), taint("soft", "", "PreferNoSchedule")];
        assert_eq!(first_untolerated(&taints, &[]).map(|t| t.key.as_str()), Some("gpu"));
        assert!(first_untolerated(&taints, &[toleration("gpu", "Equal", "true", "NoSchedule")]).is_none());
        assert!(first_untolerated(&taints, &[toleration("gpu", "Equal", "false", "NoSchedule")]).is_some());
        assert!(first_untolerated(&taints, &[toleration("gpu", "Exists", "", "")]).is_none());
        assert!(first_untolerated(&taints, &[toleration("", "Exists", "", "")]).is_none(), "tolerate everything");
        assert!(first_untolerated(&taints, &[toleration("gpu", "Exists", "", "NoExecute")]).is_some());
        assert!(first_untolerated(&[taint("x", "", "NoExecute")], &[]).is_some());
    }

    #[test]
    fn prefer_no_schedule_is_counted_not_rejected() {
        let taints = [taint("a", "", "PreferNoSchedule"), taint("b", "", "PreferNoSchedule")];
        assert!(first_untolerated(&taints, &[]).is_none());
        assert_eq!(intolerable_preferred(&taints, &[toleration("a", "Exists", "", "")]), 1);
    }

    #[test]
    fn unschedulable_toleration() {
        assert!(!tolerates_unschedulable(&[]));
        assert!(tolerates_unschedulable(&[toleration(UNSCHEDULABLE_TAINT, "Exists", "", "NoSchedule")]));
    }
}
