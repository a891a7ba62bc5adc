//! The horizontal pod autoscaler (upstream `pkg/controller/podautoscaler`): every sync period
//! each `autoscaling/v2` HorizontalPodAutoscaler reads its target's scale subresource, the
//! target's pods' usage from the resource metrics API (`metrics.k8s.io`, which the node agents
//! feed), computes the replicas each metric asks for ([`replicas`]), keeps the largest,
//! stabilizes and rate-limits it ([`behavior`]) and writes the target's scale. Status, the
//! AbleToScale/ScalingActive/ScalingLimited conditions and the events are upstream's.
//!
//! Only Resource and ContainerResource metrics have a source here: Pods, Object and External
//! metrics need a custom or external metrics API, which this cluster does not serve, and report
//! so in their condition.

pub mod behavior;
pub mod metrics;
pub mod replicas;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use apiserver_machinery::selectors::labels::LabelSelector;
use futures::StreamExt;
use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricStatus, HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition,
    HorizontalPodAutoscalerStatus, MetricSpec, MetricStatus, MetricTarget, MetricValueStatus, ResourceMetricSource,
    ResourceMetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as KubeQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;

use crate::events::Recorder;
use crate::resourcequota::quantity::Quantity;
use crate::{Context, Error};
use behavior::{Behavior, History, Reason};
use replicas::{Observed, ResourceMetric, Settings, Target};

/// The utilization an HPA without metrics targets (upstream's default CPU metric).
const DEFAULT_CPU_UTILIZATION: i32 = 80;

/// What the autoscaler remembers of one HPA between syncs.
#[derive(Debug, Default)]
struct Memory {
    history: Option<History>,
    /// When it last synced, and the spec generation it saw.
    last_sync: Option<(Timestamp, i64)>,
}

struct Shared {
    ctx: Arc<Context>,
    hpas: Store<HorizontalPodAutoscaler>,
    pods: Store<Pod>,
    recorder: Recorder,
    settings: Settings,
    memory: Mutex<HashMap<ObjectRef<HorizontalPodAutoscaler>, Memory>>,
    /// Scale targets' API resources by (apiVersion, kind), found by discovery.
    targets: Mutex<HashMap<(String, String), ApiResource>>,
}

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let hpas = ctx.informers.get::<HorizontalPodAutoscaler>();
    let pods = ctx.informers.get::<Pod>();
    let shared = Arc::new(Shared {
        ctx: ctx.clone(),
        hpas: hpas.store(),
        pods: pods.store(),
        recorder: ctx.events.recorder("horizontal-pod-autoscaler"),
        settings: Settings { tolerance: ctx.options.hpa_tolerance, ..Settings::default() },
        memory: Mutex::default(),
        targets: Mutex::default(),
    });
    Controller::for_shared_stream(hpas.subscribe(), hpas.store())
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, shared)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "autoscaler sync failed");
            }
        })
        .await;
    Ok(())
}

fn error_policy(_hpa: Arc<HorizontalPodAutoscaler>, err: &Error, shared: Arc<Shared>) -> Action {
    tracing::debug!(%err, "requeueing autoscaler after a failed sync");
    Action::requeue(shared.ctx.options.hpa_sync_period)
}

/// One sync of one HPA.
async fn reconcile(hpa: Arc<HorizontalPodAutoscaler>, shared: Arc<Shared>) -> Result<Action, Error> {
    let key = ObjectRef::from_obj(hpa.as_ref());
    let period = shared.ctx.options.hpa_sync_period;
    let generation = hpa.metadata.generation.unwrap_or(0);
    let now = Timestamp::now();
    // Status writes and other changes wake the controller too: sync at most once per period
    // unless the spec changed (upstream's rate-limited queue).
    {
        let mut memory = shared.memory.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget deleted HPAs now and then.
        if memory.len() > shared.hpas.len() + 16 {
            memory.retain(|k, _| k == &key || shared.hpas.get(k).is_some());
        }
        let entry = memory.entry(key.clone()).or_default();
        if let Some((at, seen)) = entry.last_sync
            && seen == generation
            && let Ok(since) = Duration::try_from(now.duration_since(at))
            && since < period
        {
            return Ok(Action::requeue(period - since));
        }
        entry.last_sync = Some((now, generation));
    }
    let mut sync = Sync::new(&hpa, now);
    let result = sync.run(&hpa, &key, &shared).await;
    sync.write_status(&hpa, &shared).await?;
    result?;
    Ok(Action::requeue(period))
}

/// The state of one sync: the status being built.
struct Sync {
    status: HorizontalPodAutoscalerStatus,
    now: Timestamp,
}

impl Sync {
    fn new(hpa: &HorizontalPodAutoscaler, now: Timestamp) -> Self {
        let mut status = hpa.status.clone().unwrap_or_default();
        status.observed_generation = hpa.metadata.generation;
        Self { status, now }
    }

    fn condition(&mut self, type_: &str, status: bool, reason: &str, message: impl Into<String>) {
        let conditions = self.status.conditions.get_or_insert_with(Vec::new);
        let status = if status { "True" } else { "False" };
        let message = message.into();
        match conditions.iter_mut().find(|c| c.type_ == type_) {
            Some(c) => {
                if c.status != status {
                    c.last_transition_time = Some(Time(self.now));
                }
                c.status = status.into();
                c.reason = Some(reason.into());
                c.message = Some(message);
            }
            None => conditions.push(HorizontalPodAutoscalerCondition {
                type_: type_.into(),
                status: status.into(),
                reason: Some(reason.into()),
                message: Some(message),
                last_transition_time: Some(Time(self.now)),
            }),
        }
    }

    fn limited(&mut self, reason: Reason) {
        self.condition("ScalingLimited", reason != behavior::WITHIN_RANGE, reason.0, reason.1);
    }

    async fn run(
        &mut self,
        hpa: &HorizontalPodAutoscaler,
        key: &ObjectRef<HorizontalPodAutoscaler>,
        shared: &Shared,
    ) -> Result<(), Error> {
        let spec = hpa.spec.clone().unwrap_or_default();
        let namespace = hpa.namespace().unwrap_or_default();
        let target = &spec.scale_target_ref;
        let reference = format!("{}/{}", target.kind, target.name);
        let scale_api = match shared.scale_api(&namespace, target.api_version.as_deref(), &target.kind).await {
            Ok(api) => api,
            Err(err) => return Err(self.failed_get_scale(hpa, shared, &reference, &err)),
        };
        let scale = match scale_api.get_scale(&target.name).await {
            Ok(scale) => scale,
            Err(err) => return Err(self.failed_get_scale(hpa, shared, &reference, &err.to_string())),
        };
        self.condition(
            "AbleToScale",
            true,
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
        );
        let current = scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        self.status.current_replicas = Some(current);
        let (min, max) = (spec.min_replicas.unwrap_or(1), spec.max_replicas);

        let (desired, reason) = if current == 0 && min != 0 {
            self.condition(
                "ScalingActive",
                false,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            );
            self.status.desired_replicas = 0;
            return Ok(());
        } else if current > max {
            (max, "Current number of replicas above Spec.MaxReplicas".to_string())
        } else if current < min {
            (min, "Current number of replicas below Spec.MinReplicas".to_string())
        } else {
            let selector = scale.status.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default();
            let (proposed, metric) =
                match self.replicas_for_metrics(hpa, &spec.metrics, &selector, current, shared).await {
                    Ok(found) => found,
                    Err(err) => {
                        shared.recorder.warning(hpa, "FailedComputeMetricsReplicas", err.clone());
                        return Err(Error::Invalid(err));
                    }
                };
            let reason = if proposed > current {
                format!("{metric} above target")
            } else {
                "All metrics below target".to_string()
            };
            (self.normalize(hpa, key, shared, current, proposed, (min, max)), reason)
        };

        if desired != current {
            let patch = Patch::Merge(json!({"spec": {"replicas": desired}}));
            if let Err(err) = scale_api.patch_scale(&target.name, &PatchParams::default(), &patch).await {
                self.condition(
                    "AbleToScale",
                    false,
                    "FailedUpdateScale",
                    format!("the HPA controller was unable to update the target scale: {err}"),
                );
                shared.recorder.warning(
                    hpa,
                    "FailedRescale",
                    format!("New size: {desired}; reason: {reason}; error: {err}"),
                );
                return Err(err.into());
            }
            self.condition(
                "AbleToScale",
                true,
                "SucceededRescale",
                format!("the HPA controller was able to update the target scale to {desired}"),
            );
            shared.recorder.normal(hpa, "SuccessfulRescale", format!("New size: {desired}; reason: {reason}"));
            if let Some(behavior) = spec.behavior.as_ref() {
                let (behavior, now) = (Behavior::from_spec(behavior), self.now);
                shared.with_memory(key, |m| m.history.get_or_insert_default().scaled(&behavior, current, desired, now));
            }
            self.status.last_scale_time = Some(Time(self.now));
            tracing::info!(hpa = %hpa.name_any(), from = current, to = desired, %reason, "rescaled");
        }
        self.status.desired_replicas = desired;
        Ok(())
    }

    fn failed_get_scale(
        &mut self,
        hpa: &HorizontalPodAutoscaler,
        shared: &Shared,
        reference: &str,
        err: &str,
    ) -> Error {
        let message = format!("the HPA controller was unable to get the target's current scale: {err}");
        self.condition("AbleToScale", false, "FailedGetScale", message.clone());
        shared.recorder.warning(hpa, "FailedGetScale", format!("{reference}: {err}"));
        Error::Invalid(message)
    }

    /// Stabilization and rate limits (with the HPA's behavior, or upstream's legacy rules).
    fn normalize(
        &mut self,
        hpa: &HorizontalPodAutoscaler,
        key: &ObjectRef<HorizontalPodAutoscaler>,
        shared: &Shared,
        current: i32,
        proposed: i32,
        bounds: (i32, i32),
    ) -> i32 {
        let now = self.now;
        let behavior = hpa.spec.as_ref().and_then(|s| s.behavior.as_ref()).map(Behavior::from_spec);
        let legacy_window = i64::try_from(shared.ctx.options.hpa_downscale_stabilization.as_secs()).unwrap_or(300);
        let (stabilized, stabilized_reason, (desired, limit_reason)) = shared.with_memory(key, |memory| {
            let history = memory.history.get_or_insert_with(|| History::starting_at(current, now));
            match &behavior {
                Some(behavior) => {
                    let (stabilized, reason) = history.stabilize(behavior, current, proposed, now);
                    (stabilized, reason, history.limit(behavior, bounds, current, stabilized, now))
                }
                None => {
                    let stabilized = history.stabilize_legacy(proposed, legacy_window, now);
                    (stabilized, behavior::DOWN_STABILIZED, behavior::limit_legacy(bounds, current, stabilized))
                }
            }
        });
        if stabilized == proposed {
            self.condition("AbleToScale", true, "ReadyForNewScale", "recommended size matches current size");
        } else {
            self.condition("AbleToScale", true, stabilized_reason.0, stabilized_reason.1);
        }
        self.limited(limit_reason);
        desired
    }

    /// The largest replica count the metrics ask for, and the metric that asks it. Errors when
    /// no metric could be computed, or when some could not and the others would scale down.
    async fn replicas_for_metrics(
        &mut self,
        hpa: &HorizontalPodAutoscaler,
        specs: &Option<Vec<MetricSpec>>,
        selector: &str,
        current: i32,
        shared: &Shared,
    ) -> Result<(i32, String), String> {
        if selector.is_empty() {
            let message = "the HPA target's scale is missing a selector";
            self.condition("ScalingActive", false, "InvalidSelector", message);
            shared.recorder.warning(hpa, "SelectorRequired", "selector is required");
            return Err(message.into());
        }
        let parsed = match LabelSelector::parse(selector) {
            Ok(parsed) => parsed,
            Err(err) => {
                let message = format!("the HPA target's scale has an invalid selector: {}", err.0);
                self.condition("ScalingActive", false, "InvalidSelector", message.clone());
                shared.recorder.warning(
                    hpa,
                    "InvalidSelector",
                    format!("couldn't convert selector into a corresponding internal selector object: {}", err.0),
                );
                return Err(message);
            }
        };
        let namespace = hpa.namespace().unwrap_or_default();
        let all_pods = shared.pods.state();
        let pods: Vec<&Pod> = all_pods
            .iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()))
            .filter(|p| parsed.matches(p.metadata.labels.as_ref().unwrap_or(&Default::default())))
            .map(Arc::as_ref)
            .collect();
        let default_metric = [MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: "cpu".into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(DEFAULT_CPU_UTILIZATION),
                    ..Default::default()
                },
            }),
            ..Default::default()
        }];
        let specs: &[MetricSpec] = match specs {
            Some(specs) if !specs.is_empty() => specs,
            _ => &default_metric,
        };
        let mut best: Option<(i32, String)> = None;
        let mut statuses = Vec::new();
        let mut invalid: Option<(String, String, String)> = None;
        let mut invalid_count = 0;
        for spec in specs {
            match self.replicas_for_metric(spec, (&namespace, selector), current, &pods, shared).await {
                Ok((replicas, status, name)) => {
                    statuses.push(status);
                    if best.as_ref().is_none_or(|(b, _)| replicas > *b) {
                        best = Some((replicas, name));
                    }
                }
                Err((reason, err)) => {
                    let message = format!("the HPA was unable to compute the replica count: {err}");
                    shared.recorder.warning(hpa, reason, err.clone());
                    invalid_count += 1;
                    if invalid.is_none() {
                        invalid = Some((reason.to_string(), message, err));
                    }
                }
            }
        }
        self.status.current_metrics = (!statuses.is_empty()).then_some(statuses);
        match (best, invalid) {
            (None, Some((reason, message, err))) => {
                self.condition("ScalingActive", false, &reason, message);
                Err(format!("invalid metrics ({invalid_count} invalid out of {}), first error is: {err}", specs.len()))
            }
            (Some((replicas, _)), Some((reason, message, err))) if replicas < current => {
                self.condition("ScalingActive", false, &reason, message);
                Err(format!("invalid metrics ({invalid_count} invalid out of {}), first error is: {err}", specs.len()))
            }
            (Some((replicas, name)), _) => {
                self.condition(
                    "ScalingActive",
                    true,
                    "ValidMetricFound",
                    format!("the HPA was able to successfully calculate a replica count from {name}"),
                );
                Ok((replicas, name))
            }
            (None, None) => Err("no metrics".into()),
        }
    }

    /// One metric: (replicas, its status, its name for reasons) or (condition reason, error).
    async fn replicas_for_metric(
        &self,
        spec: &MetricSpec,
        (namespace, selector): (&str, &str),
        current: i32,
        pods: &[&Pod],
        shared: &Shared,
    ) -> Result<(i32, MetricStatus, String), (&'static str, String)> {
        let (resource, container, target, failed) = match spec.type_.as_str() {
            "Resource" => {
                let source = spec
                    .resource
                    .as_ref()
                    .ok_or(("FailedGetResourceMetric", "missing resource metric source".to_string()))?;
                (source.name.as_str(), None, &source.target, "FailedGetResourceMetric")
            }
            "ContainerResource" => {
                let source = spec.container_resource.as_ref().ok_or((
                    "FailedGetContainerResourceMetric",
                    "missing container resource metric source".to_string(),
                ))?;
                (
                    source.name.as_str(),
                    Some(source.container.as_str()),
                    &source.target,
                    "FailedGetContainerResourceMetric",
                )
            }
            "Pods" | "Object" | "External" => {
                let (reason, api) = match spec.type_.as_str() {
                    "Pods" => ("FailedGetPodsMetric", "custom.metrics.k8s.io"),
                    "Object" => ("FailedGetObjectMetric", "custom.metrics.k8s.io"),
                    _ => ("FailedGetExternalMetric", "external.metrics.k8s.io"),
                };
                return Err((reason, format!("unable to get metric: no {api} API is served by this cluster")));
            }
            other => return Err(("InvalidMetricSourceType", format!("unknown metric source type \"{other}\""))),
        };
        let target = match (target.average_utilization, target.average_value.as_ref()) {
            (Some(percent), _) => Target::Utilization(percent),
            (None, Some(value)) => Target::AverageValue(Quantity::parse(&value.0).map_or(0, |q| q.milli_value())),
            (None, None) => {
                return Err((
                    failed,
                    "invalid resource metric source: neither an average utilization target nor an average value (usage) target was set".into(),
                ));
            }
        };
        // Samples first, then pods (upstream's order, so its errors come first).
        let samples = metrics::resource_samples(&shared.ctx.client, namespace, selector, resource, container)
            .await
            .map_err(|err| (failed, err))?;
        let metric = ResourceMetric { resource, container, target };
        let observed = Observed { pods, samples: &samples, now: self.now };
        let found =
            replicas::resource_replicas(current, &metric, &observed, &shared.settings).map_err(|err| (failed, err))?;
        let current_value = MetricValueStatus {
            average_utilization: found.utilization,
            average_value: Some(KubeQuantity(Quantity::from_milli(found.average_milli).to_string())),
            value: None,
        };
        let (status, name) = match container {
            None => (
                MetricStatus {
                    type_: "Resource".into(),
                    resource: Some(ResourceMetricStatus { name: resource.into(), current: current_value }),
                    ..Default::default()
                },
                resource.to_string(),
            ),
            Some(container) => (
                MetricStatus {
                    type_: "ContainerResource".into(),
                    container_resource: Some(ContainerResourceMetricStatus {
                        name: resource.into(),
                        container: container.into(),
                        current: current_value,
                    }),
                    ..Default::default()
                },
                format!("{resource} container resource"),
            ),
        };
        let name = match target {
            Target::Utilization(_) => format!("{name} resource utilization (percentage of request)"),
            Target::AverageValue(_) => format!("{name} resource"),
        };
        Ok((found.replicas, status, name))
    }

    /// Writes the status when it changed.
    async fn write_status(&self, hpa: &HorizontalPodAutoscaler, shared: &Shared) -> Result<(), Error> {
        if hpa.status.as_ref() == Some(&self.status) {
            return Ok(());
        }
        let api: Api<HorizontalPodAutoscaler> =
            Api::namespaced(shared.ctx.client.clone(), &hpa.namespace().unwrap_or_default());
        let mut status = serde_json::to_value(&self.status).map_err(|e| Error::Invalid(e.to_string()))?;
        if self.status.current_metrics.is_none() {
            status["currentMetrics"] = serde_json::Value::Null;
        }
        api.patch_status(&hpa.name_any(), &PatchParams::default(), &Patch::Merge(&json!({ "status": status }))).await?;
        Ok(())
    }
}

impl Shared {
    fn with_memory<T>(&self, key: &ObjectRef<HorizontalPodAutoscaler>, f: impl FnOnce(&mut Memory) -> T) -> T {
        let mut memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        f(memory.entry(key.clone()).or_default())
    }

    /// The API of the scale target's kind (found by discovery once per kind).
    async fn scale_api(
        &self,
        namespace: &str,
        api_version: Option<&str>,
        kind: &str,
    ) -> Result<Api<DynamicObject>, String> {
        let api_version = api_version.unwrap_or("v1").to_string();
        let cache_key = (api_version.clone(), kind.to_string());
        let cached = self.targets.lock().unwrap_or_else(PoisonError::into_inner).get(&cache_key).cloned();
        let resource = match cached {
            Some(resource) => resource,
            None => {
                let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version.as_str()));
                let gvk = GroupVersionKind::gvk(group, version, kind);
                let (resource, _) = kube::discovery::pinned_kind(&self.ctx.client, &gvk)
                    .await
                    .map_err(|err| format!("unable to find the scale target {kind} in {api_version}: {err}"))?;
                self.targets.lock().unwrap_or_else(PoisonError::into_inner).insert(cache_key, resource.clone());
                resource
            }
        };
        Ok(Api::namespaced_with(self.ctx.client.clone(), namespace, &resource))
    }
}
