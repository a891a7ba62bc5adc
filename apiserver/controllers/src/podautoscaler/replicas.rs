//! How many replicas one metric asks for (upstream's `ReplicaCalculator`): the pods' usage
//! against the target, with upstream's care for pods that cannot be trusted yet. Pending and
//! not-yet-ready pods, and pods without a sample, do not make a scale-up bigger nor a
//! scale-down deeper: on a scale-up they count as using nothing, on a scale-down pods without
//! a sample count as using exactly their request. A change within the tolerance is no change.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::resourcequota::quantity::Quantity;

/// One pod's sample of one resource, in milli-units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub milli: i64,
    pub timestamp: Timestamp,
    pub window: Duration,
}

/// The calculator's settings (upstream's `--horizontal-pod-autoscaler-*` flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Relative change below which nothing changes (0.1).
    pub tolerance: f64,
    /// After a pod starts, its CPU samples count only once it is ready and a whole sample
    /// window has passed since (5 minutes).
    pub cpu_initialization_period: Duration,
    /// A pod that was never ready this long after starting is not a slow starter (30 s).
    pub delay_of_initial_readiness_status: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tolerance: 0.1,
            cpu_initialization_period: Duration::from_secs(300),
            delay_of_initial_readiness_status: Duration::from_secs(30),
        }
    }
}

/// The pods of a target, sorted by how far their samples can be trusted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Grouped {
    /// Pods whose sample counts.
    pub ready: usize,
    /// Pending pods and CPU samples of pods still starting.
    pub unready: BTreeSet<String>,
    /// Running pods without a sample.
    pub missing: BTreeSet<String>,
    /// Pods being deleted or failed: they do not count at all.
    pub ignored: BTreeSet<String>,
}

fn add(at: Timestamp, duration: Duration) -> Timestamp {
    SignedDuration::try_from(duration).ok().and_then(|d| at.checked_add(d).ok()).unwrap_or(at)
}

/// Sorts `pods` by the trust in their samples of `resource` at `now`.
pub fn group_pods(
    pods: &[&Pod],
    samples: &HashMap<String, Sample>,
    resource: &str,
    settings: &Settings,
    now: Timestamp,
) -> Grouped {
    let mut grouped = Grouped::default();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let status = pod.status.as_ref();
        let phase = status.and_then(|s| s.phase.as_deref());
        if pod.metadata.deletion_timestamp.is_some() || phase == Some("Failed") {
            grouped.ignored.insert(name);
            continue;
        }
        if phase == Some("Pending") {
            grouped.unready.insert(name);
            continue;
        }
        let Some(sample) = samples.get(&name) else {
            grouped.missing.insert(name);
            continue;
        };
        if resource == "cpu" && !cpu_sample_counts(pod, sample, settings, now) {
            grouped.unready.insert(name);
            continue;
        }
        grouped.ready += 1;
    }
    grouped
}

/// Whether a pod's CPU sample can be trusted: CPU spikes while a pod starts.
fn cpu_sample_counts(pod: &Pod, sample: &Sample, settings: &Settings, now: Timestamp) -> bool {
    let status = pod.status.as_ref();
    let ready = status.and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    let (Some(ready), Some(started)) = (ready, status.and_then(|s| s.start_time.as_ref()).map(|t| t.0)) else {
        return false;
    };
    let transition = ready.last_transition_time.as_ref().map_or(started, |t| t.0);
    if add(started, settings.cpu_initialization_period) > now {
        // Still starting: only a ready pod with a whole window sampled since it became ready.
        ready.status != "False" && sample.timestamp >= add(transition, sample.window)
    } else {
        // Unready now and never ready since it started: not to be trusted.
        !(ready.status == "False" && add(started, settings.delay_of_initial_readiness_status) > transition)
    }
}

/// Each pod's request of `resource` in milli-units, summed over its containers (or only
/// `container`); every container must request it.
pub fn pod_requests(pods: &[&Pod], container: Option<&str>, resource: &str) -> Result<HashMap<String, i64>, String> {
    let mut requests = HashMap::with_capacity(pods.len());
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let mut sum = 0i64;
        for c in pod.spec.iter().flat_map(|s| &s.containers) {
            if container.is_some_and(|wanted| wanted != c.name) {
                continue;
            }
            let request = c.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get(resource));
            match request.and_then(|q| Quantity::parse(&q.0)) {
                Some(q) => sum = sum.saturating_add(q.milli_value()),
                None => return Err(format!("missing request for {resource} in container {} of Pod {name}", c.name)),
            }
        }
        requests.insert(name, sum);
    }
    Ok(requests)
}

/// Usage against requests: (usage / target ratio, utilization in percent, average usage).
pub fn utilization_ratio(
    samples: &HashMap<String, i64>,
    requests: &HashMap<String, i64>,
    target_percent: i32,
) -> Result<(f64, i32, i64), String> {
    let (mut usage, mut requested, mut counted) = (0i64, 0i64, 0i64);
    for (pod, value) in samples {
        if let Some(request) = requests.get(pod) {
            usage = usage.saturating_add(*value);
            requested = requested.saturating_add(*request);
            counted += 1;
        }
    }
    if requested == 0 {
        return Err("no metrics returned matched known pods".into());
    }
    let utilization = i32::try_from(usage.saturating_mul(100) / requested).unwrap_or(i32::MAX);
    Ok((f64::from(utilization) / f64::from(target_percent.max(1)), utilization, usage / counted))
}

/// What one metric asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recommendation {
    pub replicas: i32,
    /// Utilization in percent of requests (utilization targets only).
    pub utilization: Option<i32>,
    /// Average usage per pod, milli-units.
    pub average_milli: i64,
}

/// What the target asks of the calculator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Percent of the pods' requests.
    Utilization(i32),
    /// Average usage per pod, milli-units.
    AverageValue(i64),
}

/// A resource metric: which resource of which containers, against what target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceMetric<'a> {
    pub resource: &'a str,
    /// Only this container's usage and request (a ContainerResource metric).
    pub container: Option<&'a str>,
    pub target: Target,
}

/// What was observed of the target's pods.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// The pods the target's selector matches.
    pub pods: &'a [&'a Pod],
    /// Their samples of the metric's resource, by pod name.
    pub samples: &'a HashMap<String, Sample>,
    pub now: Timestamp,
}

/// Replicas for a resource metric, `current` being the target's replicas now. Errors say why
/// no figure could be computed.
pub fn resource_replicas(
    current: i32,
    metric: &ResourceMetric<'_>,
    observed: &Observed<'_>,
    settings: &Settings,
) -> Result<Recommendation, String> {
    let (pods, samples, target) = (observed.pods, observed.samples, metric.target);
    let (resource, container, now) = (metric.resource, metric.container, observed.now);
    if pods.is_empty() {
        return Err("no pods returned by selector while calculating replica count".into());
    }
    let grouped = group_pods(pods, samples, resource, settings, now);
    let mut usage: HashMap<String, i64> = samples
        .iter()
        .filter(|(pod, _)| !grouped.ignored.contains(*pod) && !grouped.unready.contains(*pod))
        .filter(|(pod, _)| pods.iter().any(|p| p.metadata.name.as_deref() == Some(pod.as_str())))
        .map(|(pod, s)| (pod.clone(), s.milli))
        .collect();
    if usage.is_empty() {
        return Err("did not receive metrics for targeted pods (pods might be unready)".into());
    }
    let requests = match target {
        Target::Utilization(_) => pod_requests(pods, container, resource)?,
        Target::AverageValue(_) => HashMap::new(),
    };
    // `ratio` of usage to target; the figure reported in status.
    let measure = |usage: &HashMap<String, i64>| -> Result<(f64, Option<i32>, i64), String> {
        match target {
            Target::Utilization(percent) => {
                let (ratio, utilization, average) = utilization_ratio(usage, &requests, percent)?;
                Ok((ratio, Some(utilization), average))
            }
            Target::AverageValue(milli) => {
                let count = i64::try_from(usage.len()).unwrap_or(i64::MAX).max(1);
                let average = usage.values().fold(0i64, |sum, v| sum.saturating_add(*v)) / count;
                #[allow(clippy::cast_precision_loss)]
                Ok((average as f64 / milli.max(1) as f64, None, average))
            }
        }
    };
    let (ratio, utilization, average_milli) = measure(&usage)?;
    let within = |ratio: f64| (1.0 - ratio).abs() <= settings.tolerance;
    let keep = Recommendation { replicas: current, utilization, average_milli };
    let scale_up_with_unready = !grouped.unready.is_empty() && ratio > 1.0;
    if !scale_up_with_unready && grouped.missing.is_empty() {
        if within(ratio) {
            return Ok(keep);
        }
        return Ok(Recommendation { replicas: ceil_replicas(ratio, grouped.ready), ..keep });
    }
    // Pods without a sample: as if at the target on a scale-down, idle on a scale-up.
    for pod in &grouped.missing {
        let assumed = match target {
            _ if ratio > 1.0 => 0,
            Target::Utilization(_) => requests.get(pod).copied().unwrap_or(0),
            Target::AverageValue(milli) => milli,
        };
        if ratio != 1.0 {
            usage.insert(pod.clone(), assumed);
        }
    }
    if scale_up_with_unready {
        for pod in &grouped.unready {
            usage.insert(pod.clone(), 0);
        }
    }
    let (new_ratio, _, _) = measure(&usage)?;
    if within(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        // Too small a change, or the assumptions flipped the direction.
        return Ok(keep);
    }
    let replicas = ceil_replicas(new_ratio, usage.len());
    if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
        return Ok(keep);
    }
    Ok(Recommendation { replicas, ..keep })
}

fn ceil_replicas(ratio: f64, pods: usize) -> i32 {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    let replicas = (ratio * pods as f64).ceil();
    if replicas >= f64::from(i32::MAX) {
        i32::MAX
    } else {
        #[allow(clippy::cast_possible_truncation)]
        let replicas = replicas as i32;
        replicas.max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodCondition, PodSpec, PodStatus, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Q;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    /// A running pod requesting `cpu_milli`, started at `started`, Ready since `ready_at`.
    fn pod(name: &str, cpu_milli: i64, started: i64, ready_at: Option<i64>) -> Pod {
        Pod {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "app".into(),
                    resources: Some(ResourceRequirements {
                        requests: Some([("cpu".to_string(), Q(format!("{cpu_milli}m")))].into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                start_time: Some(Time(at(started))),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready_at.is_some() { "True" } else { "False" }.into(),
                    last_transition_time: Some(Time(at(ready_at.unwrap_or(started)))),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    fn samples(values: &[(&str, i64)], taken: i64) -> HashMap<String, Sample> {
        values
            .iter()
            .map(|(pod, milli)| {
                ((*pod).to_string(), Sample { milli: *milli, timestamp: at(taken), window: Duration::from_secs(15) })
            })
            .collect()
    }

    fn calculate(
        current: i32,
        target: Target,
        pods: &[&Pod],
        samples: &HashMap<String, Sample>,
        now: i64,
    ) -> Result<Recommendation, String> {
        let metric = ResourceMetric { resource: "cpu", container: None, target };
        let observed = Observed { pods, samples, now: at(now) };
        resource_replicas(current, &metric, &observed, &Settings::default())
    }

    fn replicas(current: i32, target: Target, pods: &[Pod], samples: &HashMap<String, Sample>, now: i64) -> i32 {
        let pods: Vec<&Pod> = pods.iter().collect();
        calculate(current, target, &pods, samples, now).unwrap().replicas
    }

    #[test]
    fn scales_by_the_ratio_of_usage_to_target() {
        // Two pods at 100% of a 100m request, target 50%: four pods.
        let pods = [pod("a", 100, 0, Some(5)), pod("b", 100, 0, Some(5))];
        let s = samples(&[("a", 100), ("b", 100)], 1000);
        assert_eq!(replicas(2, Target::Utilization(50), &pods, &s, 1000), 4);
        // 20% of requests against 50%: one pod (ceil of 0.4 × 2).
        let s = samples(&[("a", 20), ("b", 20)], 1000);
        assert_eq!(replicas(2, Target::Utilization(50), &pods, &s, 1000), 1);
        // Average value: 300m per pod against 100m: six.
        let s = samples(&[("a", 300), ("b", 300)], 1000);
        assert_eq!(replicas(2, Target::AverageValue(100), &pods, &s, 1000), 6);
    }

    #[test]
    fn a_change_within_the_tolerance_is_no_change() {
        let pods = [pod("a", 100, 0, Some(5)), pod("b", 100, 0, Some(5))];
        let s = samples(&[("a", 54), ("b", 54)], 1000);
        assert_eq!(replicas(2, Target::Utilization(50), &pods, &s, 1000), 2);
        let s = samples(&[("a", 56), ("b", 56)], 1000);
        assert_eq!(replicas(2, Target::Utilization(50), &pods, &s, 1000), 3);
    }

    #[test]
    fn starting_pods_count_as_idle_on_a_scale_up() {
        // "c" became ready 5 s before the sample was taken (less than a window): untrusted.
        let pods = [pod("a", 100, 0, Some(5)), pod("b", 100, 0, Some(5)), pod("c", 100, 90, Some(95))];
        let s = samples(&[("a", 100), ("b", 100), ("c", 500)], 100);
        // Trusted: a and b at 100% against 50% → ratio 2; c counts as 0: (100+100+0)/300 = 66% → ratio 1.33, ceil(4).
        assert_eq!(replicas(3, Target::Utilization(50), &pods, &s, 100), 4);
    }

    #[test]
    fn pods_without_samples_count_at_their_request_on_a_scale_down() {
        let pods = [pod("a", 100, 0, Some(5)), pod("b", 100, 0, Some(5)), pod("c", 100, 0, Some(5))];
        let s = samples(&[("a", 10), ("b", 10)], 1000);
        // Without c: 10% against 50%. With c at 100%: 40% → ratio 0.8 → ceil(2.4) = 3: no change.
        assert_eq!(replicas(3, Target::Utilization(50), &pods, &s, 1000), 3);
        // Against 100%: ratio 0.4 → ceil(1.2) = 2.
        assert_eq!(replicas(3, Target::Utilization(100), &pods, &s, 1000), 2);
    }

    #[test]
    fn deleted_and_failed_pods_do_not_count_and_missing_requests_are_errors() {
        let mut gone = pod("gone", 100, 0, Some(5));
        gone.metadata.deletion_timestamp = Some(Time(at(10)));
        let pods = [pod("a", 100, 0, Some(5)), gone];
        let s = samples(&[("a", 100), ("gone", 1000)], 1000);
        assert_eq!(replicas(2, Target::Utilization(100), &pods, &s, 1000), 2);
        let mut bare = pod("a", 100, 0, Some(5));
        bare.spec.as_mut().unwrap().containers[0].resources = None;
        let err = calculate(1, Target::Utilization(50), &[&bare], &s, 1000);
        assert_eq!(err.unwrap_err(), "missing request for cpu in container app of Pod a");
    }

    #[test]
    fn no_trusted_sample_is_an_error() {
        let pods = [pod("a", 100, 990, None)];
        let pods: Vec<&Pod> = pods.iter().collect();
        let s = samples(&[("a", 100)], 1000);
        let result = calculate(1, Target::Utilization(50), &pods, &s, 1000);
        assert_eq!(result.unwrap_err(), "did not receive metrics for targeted pods (pods might be unready)");
    }
}
