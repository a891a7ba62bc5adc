//! Resource amounts a pod requests and a node offers, as integers (see `quantity`).
//!
//! A pod's request follows upstream's rule: the sum of its containers, or the largest init
//! container if that is bigger (restartable "sidecar" init containers add up with the app
//! containers), plus `spec.overhead`; pod-level `spec.resources.requests` win where set.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::quantity::{milli, units};

/// Requests for containers that set none still count this much when scoring (upstream's
/// `DefaultMilliCPURequest` and `DefaultMemoryRequest`), so empty pods still spread out.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// An amount of each resource: CPU in millicores, the rest in whole units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    /// Extended resources (`example.com/gpu`, `hugepages-2Mi`, ...), sorted by name.
    pub scalar: Vec<(String, i64)>,
}

impl Resources {
    /// Reads a `requests`/`allocatable` map; unparsable quantities count as zero.
    pub fn from_map(map: &BTreeMap<String, Quantity>) -> Self {
        let mut out = Self::default();
        for (name, quantity) in map {
            out.set(name, &quantity.0);
        }
        out
    }

    fn set(&mut self, name: &str, quantity: &str) {
        match name {
            "cpu" => self.milli_cpu = milli(quantity).unwrap_or(0),
            "memory" => self.memory = units(quantity).unwrap_or(0),
            "ephemeral-storage" => self.ephemeral_storage = units(quantity).unwrap_or(0),
            // `pods` is a node capacity, not a request; it is read separately.
            "pods" => {}
            other => self.set_scalar(other, units(quantity).unwrap_or(0)),
        }
    }

    fn set_scalar(&mut self, name: &str, value: i64) {
        match self.scalar.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(i) => self.scalar[i].1 = value,
            Err(i) => self.scalar.insert(i, (name.to_string(), value)),
        }
    }

    /// The amount of an extended resource (0 when absent).
    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar.binary_search_by(|(n, _)| n.as_str().cmp(name)).map(|i| self.scalar[i].1).unwrap_or(0)
    }

    pub fn add(&mut self, other: &Self) {
        self.combine(other, |a, b| a + b);
    }

    pub fn sub(&mut self, other: &Self) {
        self.combine(other, |a, b| a - b);
    }

    fn max_with(&mut self, other: &Self) {
        self.combine(other, i64::max);
    }

    fn combine(&mut self, other: &Self, f: impl Fn(i64, i64) -> i64) {
        self.milli_cpu = f(self.milli_cpu, other.milli_cpu);
        self.memory = f(self.memory, other.memory);
        self.ephemeral_storage = f(self.ephemeral_storage, other.ephemeral_storage);
        for (name, value) in &other.scalar {
            let current = self.scalar(name);
            self.set_scalar(name, f(current, *value));
        }
    }

    #[cfg(test)]
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.iter().all(|(_, v)| *v == 0)
    }
}

/// What a pod requests: exact amounts for fitting, and CPU/memory with per-container defaults
/// for scoring.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodRequests {
    pub exact: Resources,
    pub non_zero_milli_cpu: i64,
    pub non_zero_memory: i64,
}

/// A container's requests; limits stand in for missing requests (the API server's defaulting
/// does the same, we do not rely on it having run).
fn container_requests(container: &Container) -> Resources {
    let mut out = Resources::default();
    let Some(resources) = &container.resources else { return out };
    if let Some(limits) = &resources.limits {
        out = Resources::from_map(limits);
    }
    if let Some(requests) = &resources.requests {
        for (name, quantity) in requests {
            out.set(name, &quantity.0);
        }
    }
    out
}

fn with_defaults(mut r: Resources) -> Resources {
    if r.milli_cpu == 0 {
        r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST;
    }
    if r.memory == 0 {
        r.memory = DEFAULT_MEMORY_REQUEST;
    }
    r
}

/// Upstream's aggregation: app containers add up; each init container runs alone (after the
/// sidecars started before it), so the pod needs the larger of the two.
fn aggregate(spec: &PodSpec, per_container: impl Fn(&Container) -> Resources) -> Resources {
    let mut total = Resources::default();
    for c in &spec.containers {
        total.add(&per_container(c));
    }
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let request = per_container(c);
        let during = if c.restart_policy.as_deref() == Some("Always") {
            total.add(&request);
            sidecars.add(&request);
            sidecars.clone()
        } else {
            let mut during = request;
            during.add(&sidecars);
            during
        };
        init_peak.max_with(&during);
    }
    total.max_with(&init_peak);
    total
}

/// The requests of a pod spec.
pub fn pod_requests(spec: &PodSpec) -> PodRequests {
    let mut exact = aggregate(spec, container_requests);
    let mut non_zero = aggregate(spec, |c| with_defaults(container_requests(c)));
    if let Some(pod_level) = spec.resources.as_ref().and_then(|r| r.requests.as_ref()) {
        for (name, quantity) in pod_level {
            if matches!(name.as_str(), "cpu" | "memory") {
                exact.set(name, &quantity.0);
                non_zero.set(name, &quantity.0);
            }
        }
        non_zero = with_defaults(non_zero);
    }
    if let Some(overhead) = &spec.overhead {
        let overhead = Resources::from_map(overhead);
        exact.add(&overhead);
        non_zero.add(&overhead);
    }
    PodRequests { exact, non_zero_milli_cpu: non_zero.milli_cpu, non_zero_memory: non_zero.memory }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;

    pub(crate) fn container(requests: &[(&str, &str)]) -> Container {
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                requests: Some(requests.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn containers_add_up_and_init_containers_take_the_max() {
        let mut init = container(&[("cpu", "3"), ("memory", "1Gi")]);
        init.name = "init".into();
        let spec = PodSpec {
            containers: vec![container(&[("cpu", "1")]), container(&[("cpu", "500m"), ("example.com/gpu", "1")])],
            init_containers: Some(vec![init]),
            overhead: Some([("cpu".to_string(), Quantity("100m".into()))].into()),
            ..Default::default()
        };
        let r = pod_requests(&spec);
        assert_eq!(r.exact.milli_cpu, 3100, "init container peak 3 cpu + overhead");
        assert_eq!(r.exact.memory, 1 << 30);
        assert_eq!(r.exact.scalar("example.com/gpu"), 1);
    }

    #[test]
    fn sidecars_add_to_app_containers() {
        let mut sidecar = container(&[("cpu", "1")]);
        sidecar.restart_policy = Some("Always".into());
        let spec = PodSpec {
            containers: vec![container(&[("cpu", "2")])],
            init_containers: Some(vec![sidecar, container(&[("cpu", "3")])]),
            ..Default::default()
        };
        // The second init container runs next to the sidecar: 3 + 1 beats the app's 2 + 1.
        assert_eq!(pod_requests(&spec).exact.milli_cpu, 4000);
    }

    #[test]
    fn empty_containers_get_scoring_defaults_only() {
        let spec = PodSpec { containers: vec![Container::default(), Container::default()], ..Default::default() };
        let r = pod_requests(&spec);
        assert!(r.exact.is_zero());
        assert_eq!(r.non_zero_milli_cpu, 200);
        assert_eq!(r.non_zero_memory, 2 * DEFAULT_MEMORY_REQUEST);
    }

    #[test]
    fn limits_stand_in_for_missing_requests() {
        let c = Container {
            resources: Some(ResourceRequirements {
                limits: Some([("cpu".to_string(), Quantity("2".into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let spec = PodSpec { containers: vec![c], ..Default::default() };
        assert_eq!(pod_requests(&spec).exact.milli_cpu, 2000);
    }
}
