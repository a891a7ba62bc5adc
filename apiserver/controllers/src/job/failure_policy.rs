//! `spec.podFailurePolicy`: the first rule that matches a failed pod decides what its failure
//! means (upstream's `matchPodFailurePolicy`). Exit-code rules look at every terminated app and
//! init container with a non-zero exit code; condition rules at the pod's conditions.

use k8s_openapi::api::batch::v1::{PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyRule};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

/// What a matching rule does with the failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Fail the whole Job now (reason `PodFailurePolicy`), with upstream's message.
    FailJob(String),
    /// Fail the pod's index (backoffLimitPerIndex).
    FailIndex,
    /// Not counted against any limit.
    Ignore,
    /// Counted as usual (also what happens when no rule matches).
    Count,
}

/// The action for a failed `pod`, or `None` when no rule matches (the failure counts).
pub fn evaluate(policy: &PodFailurePolicy, pod: &Pod) -> Option<Action> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    for (index, rule) in policy.rules.iter().enumerate() {
        if let Some(requirement) = &rule.on_exit_codes
            && let Some((container, code)) = matching_container(requirement, pod)
        {
            let message = format!(
                "Container {container} for pod {namespace}/{name} failed with exit code {code} matching {} rule at index {index}",
                rule.action
            );
            return Some(action(rule, message));
        }
        for pattern in rule.on_pod_conditions.iter().flatten() {
            let wanted = pattern.status.as_deref().unwrap_or("True");
            let holds = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == pattern.type_ && c.status == wanted));
            if holds {
                let message = format!(
                    "Pod {namespace}/{name} has condition {} matching {} rule at index {index}",
                    pattern.type_, rule.action
                );
                return Some(action(rule, message));
            }
        }
    }
    None
}

fn action(rule: &PodFailurePolicyRule, message: String) -> Action {
    match rule.action.as_str() {
        "FailJob" => Action::FailJob(message),
        "FailIndex" => Action::FailIndex,
        "Ignore" => Action::Ignore,
        _ => Action::Count,
    }
}

fn matching_container(requirement: &PodFailurePolicyOnExitCodesRequirement, pod: &Pod) -> Option<(String, i32)> {
    let status = pod.status.as_ref()?;
    let statuses: Vec<&ContainerStatus> =
        status.container_statuses.iter().flatten().chain(status.init_container_statuses.iter().flatten()).collect();
    statuses.into_iter().find_map(|c| {
        let code = c.state.as_ref()?.terminated.as_ref()?.exit_code;
        let named = requirement.container_name.as_ref().is_none_or(|n| *n == c.name);
        let listed = requirement.values.contains(&code);
        let operator_holds = match requirement.operator.as_str() {
            "In" => listed,
            "NotIn" => !listed,
            _ => false,
        };
        (named && code != 0 && operator_holds).then(|| (c.name.clone(), code))
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::PodFailurePolicyOnPodConditionsPattern;
    use k8s_openapi::api::core::v1::{ContainerState, ContainerStateTerminated, PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn failed_pod(exit_codes: &[(&str, i32)], conditions: &[(&str, &str)]) -> Pod {
        Pod {
            metadata: ObjectMeta { name: Some("p".into()), namespace: Some("ns".into()), ..Default::default() },
            status: Some(PodStatus {
                phase: Some("Failed".into()),
                container_statuses: Some(
                    exit_codes
                        .iter()
                        .map(|(name, code)| ContainerStatus {
                            name: name.to_string(),
                            state: Some(ContainerState {
                                terminated: Some(ContainerStateTerminated { exit_code: *code, ..Default::default() }),
                                ..Default::default()
                            }),
                            ..Default::default()
                        })
                        .collect(),
                ),
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(t, s)| PodCondition {
                            type_: t.to_string(),
                            status: s.to_string(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn exit_rule(action: &str, container: Option<&str>, operator: &str, values: &[i32]) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: action.into(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: container.map(Into::into),
                operator: operator.into(),
                values: values.to_vec(),
            }),
            on_pod_conditions: None,
        }
    }

    fn condition_rule(action: &str, type_: &str) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: action.into(),
            on_exit_codes: None,
            on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                type_: type_.into(),
                status: Some("True".into()),
            }]),
        }
    }

    #[test]
    fn exit_code_rules_match_in_order_with_upstreams_message() {
        let policy = PodFailurePolicy {
            rules: vec![exit_rule("Ignore", None, "In", &[2]), exit_rule("FailJob", Some("main"), "In", &[42])],
        };
        assert_eq!(
            evaluate(&policy, &failed_pod(&[("main", 42)], &[])),
            Some(Action::FailJob(
                "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1".into()
            ))
        );
        assert_eq!(evaluate(&policy, &failed_pod(&[("main", 2)], &[])), Some(Action::Ignore));
        assert_eq!(evaluate(&policy, &failed_pod(&[("side", 42)], &[])), None, "container name must match");
        assert_eq!(evaluate(&policy, &failed_pod(&[("main", 1)], &[])), None);
    }

    #[test]
    fn not_in_never_matches_a_zero_exit_code() {
        let policy = PodFailurePolicy { rules: vec![exit_rule("Count", None, "NotIn", &[1])] };
        assert_eq!(evaluate(&policy, &failed_pod(&[("main", 0)], &[])), None);
        assert_eq!(evaluate(&policy, &failed_pod(&[("main", 1)], &[])), None);
        assert_eq!(evaluate(&policy, &failed_pod(&[("main", 0), ("b", 3)], &[])), Some(Action::Count));
    }

    #[test]
    fn condition_rules_match_disruptions() {
        let policy = PodFailurePolicy {
            rules: vec![condition_rule("Ignore", "DisruptionTarget"), condition_rule("FailIndex", "ConfigIssue")],
        };
        assert_eq!(
            evaluate(&policy, &failed_pod(&[("main", 137)], &[("DisruptionTarget", "True")])),
            Some(Action::Ignore)
        );
        assert_eq!(evaluate(&policy, &failed_pod(&[], &[("DisruptionTarget", "False")])), None);
        assert_eq!(evaluate(&policy, &failed_pod(&[], &[("ConfigIssue", "True")])), Some(Action::FailIndex));
        let fail_job = PodFailurePolicy { rules: vec![condition_rule("FailJob", "DisruptionTarget")] };
        assert_eq!(
            evaluate(&fail_job, &failed_pod(&[], &[("DisruptionTarget", "True")])),
            Some(Action::FailJob("Pod ns/p has condition DisruptionTarget matching FailJob rule at index 0".into()))
        );
    }
}
