//! The resource metrics API as the autoscaler reads it (upstream's `metrics.k8s.io/v1beta1`
//! client): one list of PodMetrics per sync, by the target's selector, reduced to one sample
//! per pod of the resource asked for.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KubeQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde::Deserialize;

use super::replicas::Sample;
use crate::resourcequota::quantity::Quantity;

/// The window a sample covers when the API gives none (the kubelet's resolution).
const DEFAULT_WINDOW: Duration = Duration::from_secs(15);

fn pod_metrics_resource() -> ApiResource {
    ApiResource {
        group: "metrics.k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "metrics.k8s.io/v1beta1".into(),
        kind: "PodMetrics".into(),
        plural: "pods".into(),
    }
}

/// The fields of a PodMetrics the autoscaler reads.
#[derive(Debug, Deserialize)]
struct PodMetrics {
    timestamp: Time,
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Deserialize)]
struct ContainerMetrics {
    name: String,
    #[serde(default)]
    usage: BTreeMap<String, KubeQuantity>,
}

/// Samples of `resource` (milli-units) of the pods `selector` matches in `namespace`, by pod
/// name: the sum over the pod's containers (or only `container`). A pod lacking the resource
/// in a counted container has no sample.
pub async fn resource_samples(
    client: &Client,
    namespace: &str,
    selector: &str,
    resource: &str,
    container: Option<&str>,
) -> Result<HashMap<String, Sample>, String> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &pod_metrics_resource());
    let list = api.list(&ListParams::default().labels(selector)).await.map_err(|err| {
        format!(
            "unable to get metrics for resource {resource}: unable to fetch metrics from resource metrics API: {err}"
        )
    })?;
    if list.items.is_empty() {
        return Err(format!(
            "unable to get metrics for resource {resource}: no metrics returned from resource metrics API"
        ));
    }
    let mut samples = HashMap::with_capacity(list.items.len());
    for item in list.items {
        let Some(name) = item.metadata.name.clone() else { continue };
        let Ok(metrics) = serde_json::from_value::<PodMetrics>(item.data) else { continue };
        if let Some(milli) = pod_usage(&metrics.containers, resource, container) {
            let window = metrics.window.as_deref().and_then(parse_duration).unwrap_or(DEFAULT_WINDOW);
            samples.insert(name, Sample { milli, timestamp: metrics.timestamp.0, window });
        }
    }
    Ok(samples)
}

fn pod_usage(containers: &[ContainerMetrics], resource: &str, only: Option<&str>) -> Option<i64> {
    let mut sum = 0i64;
    let mut counted = false;
    for c in containers.iter().filter(|c| only.is_none_or(|name| name == c.name)) {
        let usage = Quantity::parse(&c.usage.get(resource)?.0)?;
        sum = sum.saturating_add(usage.milli_value());
        counted = true;
    }
    counted.then_some(sum)
}

/// A Go duration as metrics-server prints it (`"15s"`, `"1m0s"`, `"10.5s"`, `"500ms"`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * seconds;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("15s"), Some(Duration::from_secs(15)));
        assert_eq!(parse_duration("1m0s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m30.5s"), Some(Duration::from_millis(90_500)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn sums_containers_and_skips_pods_lacking_the_resource() {
        let c = |name: &str, cpu: Option<&str>| ContainerMetrics {
            name: name.into(),
            usage: cpu.map(|q| ("cpu".to_string(), KubeQuantity(q.into()))).into_iter().collect(),
        };
        let both = [c("app", Some("250m")), c("sidecar", Some("0.1"))];
        assert_eq!(pod_usage(&both, "cpu", None), Some(350));
        assert_eq!(pod_usage(&both, "cpu", Some("sidecar")), Some(100));
        assert_eq!(pod_usage(&both, "cpu", Some("other")), None);
        assert_eq!(pod_usage(&[c("app", Some("1")), c("bare", None)], "cpu", None), None);
    }
}
