//! The arithmetic of a PodDisruptionBudget (upstream `pkg/controller/disruption`): how many
//! pods are expected, how many must stay healthy, how many may be disrupted, and the status
//! that says so.

use k8s_openapi::api::policy::v1::{PodDisruptionBudgetSpec, PodDisruptionBudgetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

/// The condition type upstream reports.
pub const DISRUPTION_ALLOWED: &str = "DisruptionAllowed";
/// Reasons of the condition.
pub const SUFFICIENT_PODS: &str = "SufficientPods";
pub const INSUFFICIENT_PODS: &str = "InsufficientPods";
pub const SYNC_FAILED: &str = "SyncFailed";

/// Why a budget cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("invalid value for IntOrString: invalid value {0:?}")]
    InvalidPercent(String),
}

/// `value` of `total`: an integer as is, a percentage scaled and rounded (upstream
/// `GetScaledValueFromIntOrPercent`).
pub fn scaled_value(value: &IntOrString, total: i32, round_up: bool) -> Result<i32, BudgetError> {
    match value {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(text) => {
            let percent: i64 = text
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| BudgetError::InvalidPercent(text.clone()))?;
            let product = percent * i64::from(total);
            let scaled = if round_up { (product + 99).div_euclid(100) } else { product.div_euclid(100) };
            Ok(i32::try_from(scaled).unwrap_or(i32::MAX))
        }
    }
}

/// Whether the budget needs the pods' controllers' scale (percentages and maxUnavailable
/// are relative to it; an integer minAvailable is not).
pub fn needs_scale(spec: &PodDisruptionBudgetSpec) -> bool {
    spec.max_unavailable.is_some() || matches!(spec.min_available, Some(IntOrString::String(_)))
}

/// `(expectedPods, desiredHealthy)`: `selected` is the number of pods the selector matches,
/// `scale` the summed scale of their controllers (used only when [`needs_scale`]).
pub fn expected_and_desired(
    spec: &PodDisruptionBudgetSpec,
    selected: i32,
    scale: i32,
) -> Result<(i32, i32), BudgetError> {
    if let Some(max_unavailable) = &spec.max_unavailable {
        let max_unavailable = scaled_value(max_unavailable, scale, true)?;
        return Ok((scale, (scale - max_unavailable).max(0)));
    }
    match &spec.min_available {
        Some(IntOrString::Int(n)) => Ok((selected, *n)),
        Some(percent) => Ok((scale, scaled_value(percent, scale, true)?)),
        None => Ok((0, 0)),
    }
}

/// What the controller observed in one sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub expected: i32,
    pub desired_healthy: i32,
    pub current_healthy: i32,
    pub generation: i64,
}

/// The status after a sync (upstream `updatePdbStatus`): disruptions allowed only when pods
/// are expected and more are healthy than required; the condition's transition time moves
/// only when its status does.
pub fn next_status(
    current: &PodDisruptionBudgetStatus,
    observed: Observed,
    now: Timestamp,
) -> PodDisruptionBudgetStatus {
    let allowed = observed.current_healthy - observed.desired_healthy;
    let allowed = if observed.expected <= 0 || allowed <= 0 { 0 } else { allowed };
    let (status, reason) = if allowed > 0 { ("True", SUFFICIENT_PODS) } else { ("False", INSUFFICIENT_PODS) };
    PodDisruptionBudgetStatus {
        current_healthy: observed.current_healthy,
        desired_healthy: observed.desired_healthy,
        expected_pods: observed.expected,
        disruptions_allowed: allowed,
        observed_generation: Some(observed.generation),
        disrupted_pods: current.disrupted_pods.clone(),
        conditions: Some(with_condition(current, status, reason, "", observed.generation, now)),
    }
}

/// The status when the budget cannot be computed (upstream `failSafe`): no disruptions.
pub fn failed_status(
    current: &PodDisruptionBudgetStatus,
    generation: i64,
    message: &str,
    now: Timestamp,
) -> PodDisruptionBudgetStatus {
    PodDisruptionBudgetStatus {
        disruptions_allowed: 0,
        observed_generation: Some(generation),
        conditions: Some(with_condition(current, "False", SYNC_FAILED, message, generation, now)),
        ..current.clone()
    }
}

fn with_condition(
    current: &PodDisruptionBudgetStatus,
    status: &str,
    reason: &str,
    message: &str,
    generation: i64,
    now: Timestamp,
) -> Vec<Condition> {
    let mut conditions: Vec<Condition> = current.conditions.clone().unwrap_or_default();
    let previous = conditions.iter().position(|c| c.type_ == DISRUPTION_ALLOWED);
    let transition = previous
        .map(|i| &conditions[i])
        .filter(|c| c.status == status)
        .map_or_else(|| Time(now), |c| c.last_transition_time.clone());
    let condition = Condition {
        type_: DISRUPTION_ALLOWED.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        observed_generation: Some(generation),
        last_transition_time: transition,
    };
    match previous {
        Some(i) => conditions[i] = condition,
        None => conditions.push(condition),
    }
    conditions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(min: Option<IntOrString>, max: Option<IntOrString>) -> PodDisruptionBudgetSpec {
        PodDisruptionBudgetSpec { min_available: min, max_unavailable: max, ..Default::default() }
    }

    fn pct(p: &str) -> Option<IntOrString> {
        Some(IntOrString::String(p.to_string()))
    }

    #[test]
    fn percentages_scale_with_rounding() {
        assert_eq!(scaled_value(&IntOrString::String("50%".into()), 5, true), Ok(3));
        assert_eq!(scaled_value(&IntOrString::String("50%".into()), 5, false), Ok(2));
        assert_eq!(scaled_value(&IntOrString::String("100%".into()), 7, true), Ok(7));
        assert_eq!(scaled_value(&IntOrString::Int(4), 7, true), Ok(4));
        assert!(scaled_value(&IntOrString::String("half".into()), 7, true).is_err());
    }

    #[test]
    fn expected_and_desired_follow_the_spec() {
        // An integer minAvailable: the selected pods are what is expected.
        assert_eq!(expected_and_desired(&spec(Some(IntOrString::Int(2)), None), 3, 10), Ok((3, 2)));
        // A percentage of the controllers' scale, rounded up.
        assert_eq!(expected_and_desired(&spec(pct("50%"), None), 3, 5), Ok((5, 3)));
        // maxUnavailable: scale minus the (rounded up) unavailable allowance, never negative.
        assert_eq!(expected_and_desired(&spec(None, Some(IntOrString::Int(1))), 3, 4), Ok((4, 3)));
        assert_eq!(expected_and_desired(&spec(None, pct("30%")), 3, 4), Ok((4, 2)));
        assert_eq!(expected_and_desired(&spec(None, Some(IntOrString::Int(9))), 3, 4), Ok((4, 0)));
        assert!(needs_scale(&spec(None, Some(IntOrString::Int(1)))));
        assert!(!needs_scale(&spec(Some(IntOrString::Int(1)), None)));
    }

    #[test]
    fn disruptions_allowed_and_condition() {
        let now = Timestamp::from_second(1_000_000).unwrap();
        let later = Timestamp::from_second(2_000_000).unwrap();
        let ok = next_status(
            &PodDisruptionBudgetStatus::default(),
            Observed { expected: 3, desired_healthy: 2, current_healthy: 3, generation: 4 },
            now,
        );
        assert_eq!((ok.disruptions_allowed, ok.expected_pods, ok.observed_generation), (1, 3, Some(4)));
        let condition = &ok.conditions.as_ref().unwrap()[0];
        assert_eq!(
            (condition.type_.as_str(), condition.status.as_str(), condition.reason.as_str()),
            ("DisruptionAllowed", "True", "SufficientPods")
        );

        // Same status later: the transition time stays.
        let again =
            next_status(&ok, Observed { expected: 3, desired_healthy: 1, current_healthy: 3, generation: 4 }, later);
        assert_eq!(again.conditions.as_ref().unwrap()[0].last_transition_time, Time(now));

        let short =
            next_status(&ok, Observed { expected: 3, desired_healthy: 2, current_healthy: 1, generation: 5 }, later);
        assert_eq!(short.disruptions_allowed, 0);
        let condition = &short.conditions.as_ref().unwrap()[0];
        assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", "InsufficientPods"));
        assert_eq!(condition.last_transition_time, Time(later));

        // Nothing expected: nothing may be disrupted even with healthy pods.
        let none =
            next_status(&ok, Observed { expected: 0, desired_healthy: 0, current_healthy: 2, generation: 5 }, later);
        assert_eq!(none.disruptions_allowed, 0);

        let failed = failed_status(&ok, 6, "boom", later);
        assert_eq!((failed.disruptions_allowed, failed.current_healthy), (0, 3));
        assert_eq!(failed.conditions.unwrap()[0].reason, "SyncFailed");
    }
}
