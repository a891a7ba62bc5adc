//! One strategy per resource, by API group (`core/`, later `apps/`, `batch/`, ...), and
//! [`plain::Plain`] for resources that only need the common rules so far.

pub mod autoscaling;
pub mod core;
pub mod defaults;
pub mod jobs;
pub mod plain;
pub mod workloads;

use std::sync::Arc;

use k8s_openapi::api::{
    apps, batch, coordination, core as corev1, discovery, events, networking, policy, rbac, scheduling, storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;

use self::plain::{NameRule, Plain};
use crate::strategy::Strategy;

fn plain<T>(name_rule: NameRule, tracks_generation: bool) -> Arc<dyn Strategy>
where
    T: k8s_openapi::Resource
        + k8s_openapi::schemars::JsonSchema
        + serde::de::DeserializeOwned
        + serde::Serialize
        + Send
        + Sync
        + 'static,
{
    Arc::new(Plain::<T>::new(name_rule, tracks_generation))
}

/// The field selectors of core Events (upstream's, but `source`, which upstream reads from
/// `source.component` or else `reportingComponent`): what `kubectl describe` and
/// `kubectl events --for` select events by.
const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "type",
];

/// Every resource served so far.
pub fn all() -> Vec<Arc<dyn Strategy>> {
    use NameRule::{PathSegment, Subdomain};
    vec![
        Arc::new(core::Namespaces),
        Arc::new(core::ConfigMaps),
        Arc::new(core::Secrets),
        Arc::new(core::Pods),
        Arc::new(core::Services),
        plain::<corev1::v1::ServiceAccount>(Subdomain, false),
        plain::<corev1::v1::Node>(Subdomain, false),
        Arc::new(Plain::<corev1::v1::PersistentVolume>::new(Subdomain, false).defaulting(defaults::persistent_volume)),
        Arc::new(
            Plain::<corev1::v1::PersistentVolumeClaim>::new(Subdomain, false)
                .defaulting(defaults::persistent_volume_claim),
        ),
        plain::<corev1::v1::Endpoints>(Subdomain, false),
        Arc::new(Plain::<corev1::v1::Event>::new(Subdomain, false).selecting(EVENT_FIELDS)),
        plain::<corev1::v1::LimitRange>(Subdomain, false),
        plain::<corev1::v1::ResourceQuota>(Subdomain, false),
        plain::<corev1::v1::PodTemplate>(Subdomain, false),
        Arc::new(
            Plain::<corev1::v1::ReplicationController>::new(Subdomain, true)
                .defaulting(defaults::replication_controller),
        ),
        Arc::new(
            Plain::<apps::v1::Deployment>::new(Subdomain, true)
                .defaulting(defaults::deployment)
                .validating(workloads::validate, workloads::validate_update),
        ),
        Arc::new(
            Plain::<apps::v1::ReplicaSet>::new(Subdomain, true)
                .defaulting(defaults::replica_set)
                .validating(workloads::validate, workloads::validate_update),
        ),
        Arc::new(
            Plain::<apps::v1::StatefulSet>::new(Subdomain, true)
                .defaulting(defaults::stateful_set)
                .validating(workloads::validate, workloads::validate_update),
        ),
        Arc::new(
            Plain::<apps::v1::DaemonSet>::new(Subdomain, true)
                .defaulting(defaults::daemon_set)
                .validating(workloads::validate, workloads::validate_update),
        ),
        plain::<apps::v1::ControllerRevision>(Subdomain, false),
        Arc::new(
            Plain::<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>::new(Subdomain, true)
                .defaulting(defaults::horizontal_pod_autoscaler),
        ),
        Arc::new(autoscaling::HorizontalPodAutoscalersV1::default()),
        plain::<events::v1::Event>(Subdomain, false),
        Arc::new(
            Plain::<batch::v1::Job>::new(Subdomain, true)
                .defaulting(defaults::job)
                .validating(jobs::validate_job, jobs::validate_job_update),
        ),
        Arc::new(
            Plain::<batch::v1::CronJob>::new(Subdomain, true)
                .defaulting(defaults::cron_job)
                .validating(jobs::validate_cron_job, jobs::validate_cron_job_update),
        ),
        plain::<networking::v1::Ingress>(Subdomain, true),
        plain::<networking::v1::IngressClass>(Subdomain, true),
        plain::<networking::v1::NetworkPolicy>(Subdomain, true),
        plain::<policy::v1::PodDisruptionBudget>(Subdomain, true),
        plain::<rbac::v1::Role>(PathSegment, false),
        plain::<rbac::v1::RoleBinding>(PathSegment, false),
        plain::<rbac::v1::ClusterRole>(PathSegment, false),
        plain::<rbac::v1::ClusterRoleBinding>(PathSegment, false),
        plain::<storage::v1::StorageClass>(Subdomain, false),
        plain::<storage::v1::CSIDriver>(Subdomain, false),
        plain::<storage::v1::CSINode>(Subdomain, false),
        plain::<storage::v1::VolumeAttachment>(Subdomain, false),
        plain::<storage::v1::CSIStorageCapacity>(Subdomain, false),
        plain::<apiextensions::v1::CustomResourceDefinition>(Subdomain, true),
        plain::<scheduling::v1::PriorityClass>(Subdomain, false),
        plain::<coordination::v1::Lease>(Subdomain, false),
        plain::<discovery::v1::EndpointSlice>(Subdomain, false),
    ]
}
