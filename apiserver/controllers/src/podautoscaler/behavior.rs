//! From what the metrics ask to what the autoscaler sets (upstream's `normalizeDesiredReplicas*`):
//! recommendations are stabilized over a window (a scale-down takes the highest recent
//! recommendation, a scale-up with a window the lowest), then limited by the scaling policies'
//! rates over their periods and by min/maxReplicas. Each HPA keeps a [`History`] of its recent
//! recommendations and scale events in the controller's memory, as upstream does.

use k8s_openapi::api::autoscaling::v2::{HPAScalingRules, HorizontalPodAutoscalerBehavior};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::resourcequota::quantity::Quantity;

/// Which policy wins when several allow different changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// The one that allows the biggest change (default).
    Max,
    /// The one that allows the smallest change.
    Min,
    /// No change in this direction at all.
    Disabled,
}

/// One policy: at most `value` pods or percent per `period_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub percent: bool,
    pub value: i32,
    pub period_seconds: i32,
}

/// The rules of one direction, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub stabilization_window_seconds: i32,
    pub select: Select,
    pub policies: Vec<Policy>,
    /// Relative change this direction ignores (`None`: the controller's tolerance).
    pub tolerance: Option<f64>,
}

impl Rules {
    /// Upstream's defaults: up by 100% or 4 pods per 15 s (the larger), at once; down by 100%
    /// per 15 s after 5 minutes of lower recommendations.
    fn default_for(up: bool) -> Self {
        let percent = Policy { percent: true, value: 100, period_seconds: 15 };
        Self {
            stabilization_window_seconds: if up { 0 } else { 300 },
            select: Select::Max,
            policies: if up {
                vec![percent, Policy { percent: false, value: 4, period_seconds: 15 }]
            } else {
                vec![percent]
            },
            tolerance: None,
        }
    }

    fn from_spec(spec: Option<&HPAScalingRules>, up: bool) -> Self {
        let mut rules = Self::default_for(up);
        let Some(spec) = spec else { return rules };
        if let Some(window) = spec.stabilization_window_seconds {
            rules.stabilization_window_seconds = window.max(0);
        }
        rules.select = match spec.select_policy.as_deref() {
            Some("Min") => Select::Min,
            Some("Disabled") => Select::Disabled,
            _ => Select::Max,
        };
        if let Some(policies) = spec.policies.as_ref().filter(|p| !p.is_empty()) {
            rules.policies = policies
                .iter()
                .map(|p| Policy {
                    percent: p.type_ == "Percent",
                    value: p.value,
                    period_seconds: p.period_seconds.max(1),
                })
                .collect();
        }
        rules.tolerance = spec.tolerance.as_ref().and_then(|q| Quantity::parse(&q.0)).map(|q| q.as_f64());
        rules
    }

    fn longest_period(&self) -> i64 {
        self.policies.iter().map(|p| i64::from(p.period_seconds)).max().unwrap_or(0)
    }
}

/// Both directions' rules of an HPA (upstream defaults what the spec leaves out).
#[derive(Debug, Clone, PartialEq)]
pub struct Behavior {
    pub up: Rules,
    pub down: Rules,
}

impl Behavior {
    pub fn from_spec(spec: &HorizontalPodAutoscalerBehavior) -> Self {
        Self {
            up: Rules::from_spec(spec.scale_up.as_ref(), true),
            down: Rules::from_spec(spec.scale_down.as_ref(), false),
        }
    }
}

/// A scale the controller made: `change` replicas at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScaleEvent {
    at: Timestamp,
    change: i32,
}

/// What one HPA's recent past says: its recommendations and its scale events.
#[derive(Debug, Clone, Default)]
pub struct History {
    recommendations: Vec<(Timestamp, i32)>,
    scale_ups: Vec<ScaleEvent>,
    scale_downs: Vec<ScaleEvent>,
}

/// A limit applied, as upstream's condition reason and message.
pub type Reason = (&'static str, &'static str);

pub const WITHIN_RANGE: Reason = ("DesiredWithinRange", "the desired count is within the acceptable range");
const TOO_MANY: Reason = ("TooManyReplicas", "the desired replica count is more than the maximum replica count");
const TOO_FEW: Reason = ("TooFewReplicas", "the desired replica count is less than the minimum replica count");
const UP_LIMIT: Reason = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate");
const DOWN_LIMIT: Reason =
    ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate");
pub const UP_STABILIZED: Reason = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
);
pub const DOWN_STABILIZED: Reason = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation",
);

fn seconds_before(now: Timestamp, seconds: i64) -> Timestamp {
    now.checked_sub(SignedDuration::from_secs(seconds)).unwrap_or(now)
}

impl History {
    /// A history that starts with the target's current size as a recommendation (so a
    /// controller that just started does not scale down before a window has passed).
    pub fn starting_at(current: i32, now: Timestamp) -> Self {
        Self { recommendations: vec![(now, current)], ..Self::default() }
    }

    /// Records `recommendation` (reusing a slot older than `obsolete_before`).
    fn record(&mut self, recommendation: i32, obsolete_before: Timestamp, now: Timestamp) {
        match self.recommendations.iter_mut().find(|(at, _)| *at < obsolete_before) {
            Some(slot) => *slot = (now, recommendation),
            None => self.recommendations.push((now, recommendation)),
        }
    }

    /// Stabilizes `desired` with behavior rules: the lowest recent recommendation on the way
    /// up, the highest on the way down, over that direction's window. Records `desired`.
    pub fn stabilize(&mut self, behavior: &Behavior, current: i32, desired: i32, now: Timestamp) -> (i32, Reason) {
        let up = desired >= current;
        let (window, reason) = if up {
            (behavior.up.stabilization_window_seconds, UP_STABILIZED)
        } else {
            (behavior.down.stabilization_window_seconds, DOWN_STABILIZED)
        };
        let cutoff = seconds_before(now, i64::from(window));
        let recent = self.recommendations.iter().filter(|(at, _)| *at > cutoff).map(|(_, r)| *r);
        let stabilized = if up { recent.fold(desired, i32::min) } else { recent.fold(desired, i32::max) };
        let longest = behavior.up.stabilization_window_seconds.max(behavior.down.stabilization_window_seconds);
        self.record(desired, seconds_before(now, i64::from(longest)), now);
        (stabilized, reason)
    }

    /// Stabilizes without behavior rules (upstream's legacy path): the highest recommendation of
    /// the downscale window. Records `desired`.
    pub fn stabilize_legacy(&mut self, desired: i32, window_seconds: i64, now: Timestamp) -> i32 {
        let cutoff = seconds_before(now, window_seconds);
        let stabilized =
            self.recommendations.iter().filter(|(at, _)| *at >= cutoff).map(|(_, r)| *r).fold(desired, i32::max);
        self.record(desired, cutoff, now);
        stabilized
    }

    /// Net replicas added (or removed) by scale events of the last `period` seconds.
    fn changed_within(events: &[ScaleEvent], period: i32, now: Timestamp) -> i32 {
        let cutoff = seconds_before(now, i64::from(period));
        events.iter().filter(|e| e.at > cutoff).map(|e| e.change).sum()
    }

    /// The replicas at the start of the policy's current period (the scale events within it
    /// undone): the base both directions' policies measure their change from.
    fn period_start(&self, policy: &Policy, current: i32, now: Timestamp) -> i32 {
        current - Self::changed_within(&self.scale_ups, policy.period_seconds, now)
            + Self::changed_within(&self.scale_downs, policy.period_seconds, now)
    }

    /// The most replicas the scale-up policies allow now.
    fn scale_up_limit(&self, rules: &Rules, current: i32, now: Timestamp) -> i32 {
        if rules.select == Select::Disabled {
            return current;
        }
        let proposals = rules.policies.iter().map(|policy| {
            let start = self.period_start(policy, current, now);
            if policy.percent {
                let grown = (f64::from(start) * (1.0 + f64::from(policy.value) / 100.0)).ceil();
                #[allow(clippy::cast_possible_truncation)]
                let grown = grown.min(f64::from(i32::MAX)) as i32;
                grown
            } else {
                start.saturating_add(policy.value)
            }
        });
        match rules.select {
            Select::Min => proposals.min(),
            _ => proposals.max(),
        }
        .unwrap_or(current)
    }

    /// The fewest replicas the scale-down policies allow now.
    fn scale_down_limit(&self, rules: &Rules, current: i32, now: Timestamp) -> i32 {
        if rules.select == Select::Disabled {
            return current;
        }
        let proposals = rules.policies.iter().map(|policy| {
            let start = self.period_start(policy, current, now);
            if policy.percent {
                #[allow(clippy::cast_possible_truncation)]
                let shrunk = (f64::from(start) * (1.0 - f64::from(policy.value) / 100.0)) as i32;
                shrunk
            } else {
                start - policy.value
            }
        });
        // "Max" allows the biggest change: the fewest replicas.
        match rules.select {
            Select::Min => proposals.max(),
            _ => proposals.min(),
        }
        .unwrap_or(current)
    }

    /// Limits a stabilized recommendation by the policies' rates and min/max.
    pub fn limit(
        &self,
        behavior: &Behavior,
        bounds: (i32, i32),
        current: i32,
        desired: i32,
        now: Timestamp,
    ) -> (i32, Reason) {
        let (min, max) = bounds;
        if desired > current {
            let limit = self.scale_up_limit(&behavior.up, current, now).max(current);
            let (allowed, reason) = if max > limit { (limit, UP_LIMIT) } else { (max, TOO_MANY) };
            if desired > allowed {
                return (allowed, reason);
            }
        } else if desired < current {
            let limit = self.scale_down_limit(&behavior.down, current, now).min(current);
            let (allowed, reason) = if min < limit { (limit, DOWN_LIMIT) } else { (min, TOO_FEW) };
            if desired < allowed {
                return (allowed, reason);
            }
        }
        (desired, WITHIN_RANGE)
    }

    /// Records a scale from `from` to `to` (events older than the longest policy period of
    /// their direction are dropped).
    pub fn scaled(&mut self, behavior: &Behavior, from: i32, to: i32, now: Timestamp) {
        let (events, rules) =
            if to > from { (&mut self.scale_ups, &behavior.up) } else { (&mut self.scale_downs, &behavior.down) };
        let cutoff = seconds_before(now, rules.longest_period());
        events.retain(|e| e.at > cutoff);
        events.push(ScaleEvent { at: now, change: (to - from).abs() });
    }
}

/// Limits without behavior rules (upstream's legacy path): at most double (or 4) per sync.
pub fn limit_legacy(bounds: (i32, i32), current: i32, desired: i32) -> (i32, Reason) {
    let (min, max) = bounds;
    let scale_up_limit = current.saturating_mul(2).max(4);
    let (allowed_max, reason) = if max > scale_up_limit { (scale_up_limit, UP_LIMIT) } else { (max, TOO_MANY) };
    if desired < min {
        (min, TOO_FEW)
    } else if desired > allowed_max {
        (allowed_max, reason)
    } else {
        (desired, WITHIN_RANGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::autoscaling::v2::HPAScalingPolicy;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    fn defaults() -> Behavior {
        Behavior::from_spec(&HorizontalPodAutoscalerBehavior::default())
    }

    #[test]
    fn defaults_are_upstreams() {
        let b = defaults();
        assert_eq!(b.up.stabilization_window_seconds, 0);
        assert_eq!(b.down.stabilization_window_seconds, 300);
        assert_eq!(b.up.policies.len(), 2);
        assert_eq!(b.down.policies, vec![Policy { percent: true, value: 100, period_seconds: 15 }]);
    }

    #[test]
    fn scale_down_takes_the_highest_recommendation_of_the_window() {
        let b = defaults();
        let mut h = History::starting_at(10, at(0));
        assert_eq!(h.stabilize(&b, 10, 3, at(60)), (10, DOWN_STABILIZED));
        assert_eq!(h.stabilize(&b, 10, 4, at(200)).0, 10);
        // The first recommendation (10 at 0 s) has left the 300 s window; 4 at 200 s is highest.
        assert_eq!(h.stabilize(&b, 10, 2, at(301)).0, 4);
        // Scaling up is immediate with the default window of 0.
        assert_eq!(h.stabilize(&b, 10, 20, at(302)).0, 20);
    }

    #[test]
    fn scale_up_is_limited_by_the_larger_policy_and_by_past_scale_ups() {
        let b = defaults();
        let mut h = History::default();
        // From 2: 100% → 4, 4 pods → 6: the larger wins.
        assert_eq!(h.limit(&b, (1, 100), 2, 50, at(0)), (6, UP_LIMIT));
        // Max below the rate limit: TooManyReplicas.
        assert_eq!(h.limit(&b, (1, 5), 2, 50, at(0)), (5, TOO_MANY));
        h.scaled(&b, 2, 6, at(0));
        // Within the same 15 s period the period started at 2: still at most 6.
        assert_eq!(h.limit(&b, (1, 100), 6, 50, at(10)), (6, UP_LIMIT));
        // A new period starts from 6: 12.
        assert_eq!(h.limit(&b, (1, 100), 6, 50, at(16)), (12, UP_LIMIT));
    }

    #[test]
    fn scale_down_policies_and_min_replicas() {
        let spec = HorizontalPodAutoscalerBehavior {
            scale_down: Some(HPAScalingRules {
                policies: Some(vec![HPAScalingPolicy { type_: "Pods".into(), value: 1, period_seconds: 60 }]),
                stabilization_window_seconds: Some(0),
                ..Default::default()
            }),
            ..Default::default()
        };
        let b = Behavior::from_spec(&spec);
        let mut h = History::default();
        assert_eq!(h.limit(&b, (1, 10), 5, 1, at(0)), (4, DOWN_LIMIT));
        h.scaled(&b, 5, 4, at(0));
        assert_eq!(h.limit(&b, (1, 10), 4, 1, at(30)), (4, DOWN_LIMIT));
        assert_eq!(h.limit(&b, (3, 10), 4, 1, at(61)), (3, TOO_FEW));
        let disabled = Behavior::from_spec(&HorizontalPodAutoscalerBehavior {
            scale_down: Some(HPAScalingRules { select_policy: Some("Disabled".into()), ..Default::default() }),
            ..Default::default()
        });
        assert_eq!(History::default().limit(&disabled, (1, 10), 5, 1, at(0)).0, 5);
    }

    #[test]
    fn legacy_limits_double_or_four() {
        assert_eq!(limit_legacy((1, 100), 1, 50), (4, UP_LIMIT));
        assert_eq!(limit_legacy((1, 100), 10, 50), (20, UP_LIMIT));
        assert_eq!(limit_legacy((1, 15), 10, 50), (15, TOO_MANY));
        assert_eq!(limit_legacy((2, 15), 10, 1), (2, TOO_FEW));
        assert_eq!(limit_legacy((2, 15), 10, 7), (7, WITHIN_RANGE));
        let mut h = History::starting_at(10, at(0));
        assert_eq!(h.stabilize_legacy(3, 300, at(10)), 10);
        assert_eq!(h.stabilize_legacy(3, 300, at(400)), 3);
    }
}
