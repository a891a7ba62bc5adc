//! One strategy per resource, by API group (`core/`, later `apps/`, `batch/`, ...), and
//! [`plain::Plain`] for resources that only need the common rules so far. `events/` serves
//! Events in both groups that have them (core and `events.k8s.io`). The modules named after
//! an API group (`storage/`, `policy.rs`, `rbac.rs`, `networking/`, ...) hold upstream's
//! validation of the `Plain` resources they name, on the field rules `checks/` shares.

pub mod autoscaling;
pub mod checks;
pub mod coordination;
pub mod core;
pub mod defaults;
pub mod endpoints;
pub mod events;
pub mod jobs;
pub mod networking;
pub mod nodes;
pub mod plain;
pub mod policy;
pub mod quota;
pub mod rbac;
pub mod revisions;
pub mod scheduling;
pub mod storage;
pub mod workloads;

use std::sync::Arc;

// `k8s::` for the groups whose validation modules above share their names.
use k8s_openapi::api::{self as k8s, apps, batch, core as corev1};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;

use self::plain::{NameRule, Plain};
use crate::fields::SelectableField;
use crate::strategy::Strategy;

/// Field selectors beyond the metadata ones (upstream's `ToSelectableFields` of each).
const NODE_FIELDS: &[SelectableField] = &[SelectableField::boolean("spec.unschedulable")];
const REPLICAS_FIELDS: &[SelectableField] = &[SelectableField::integer("status.replicas")];
const JOB_FIELDS: &[SelectableField] = &[SelectableField::integer("status.successful")];

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
        Arc::new(
            Plain::<corev1::v1::Node>::new(Subdomain, false)
                .selecting(NODE_FIELDS)
                .validating(nodes::validate_node, nodes::validate_node_update),
        ),
        Arc::new(
            Plain::<corev1::v1::PersistentVolume>::new(Subdomain, false)
                .defaulting(defaults::persistent_volume)
                .validating(storage::validate_volume, storage::validate_volume_update),
        ),
        Arc::new(
            Plain::<corev1::v1::PersistentVolumeClaim>::new(Subdomain, false)
                .defaulting(storage::default_claim)
                .validating(storage::validate_claim, storage::validate_claim_update),
        ),
        Arc::new(
            Plain::<corev1::v1::Endpoints>::new(Subdomain, false)
                .defaulting(endpoints::default_endpoints)
                .validating(endpoints::validate_endpoints, endpoints::validate_endpoints_update),
        ),
        Arc::new(events::core_events()),
        Arc::new(
            Plain::<corev1::v1::LimitRange>::new(Subdomain, false)
                .defaulting(quota::default_limit_range)
                .validating(quota::validate_limit_range, quota::validate_limit_range_update),
        ),
        Arc::new(
            Plain::<corev1::v1::ResourceQuota>::new(Subdomain, false)
                .validating(quota::validate_quota, quota::validate_quota_update),
        ),
        Arc::new(
            Plain::<corev1::v1::PodTemplate>::new(Subdomain, false)
                .defaulting(defaults::pod_template)
                .validating(core::pod_spec::validate_pod_template, core::pod_spec::validate_pod_template_update),
        ),
        Arc::new(
            Plain::<corev1::v1::ReplicationController>::new(Subdomain, true)
                .selecting(REPLICAS_FIELDS)
                .defaulting(defaults::replication_controller)
                .validating(
                    workloads::validate_replication_controller,
                    workloads::validate_replication_controller_update,
                ),
        ),
        Arc::new(
            Plain::<apps::v1::Deployment>::new(Subdomain, true)
                .defaulting(defaults::deployment)
                .validating(workloads::validate, workloads::validate_update),
        ),
        Arc::new(
            Plain::<apps::v1::ReplicaSet>::new(Subdomain, true)
                .selecting(REPLICAS_FIELDS)
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
        Arc::new(
            Plain::<apps::v1::ControllerRevision>::new(Subdomain, false)
                .validating(revisions::validate_revision, revisions::validate_revision_update),
        ),
        Arc::new(
            Plain::<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>::new(Subdomain, true)
                .defaulting(defaults::horizontal_pod_autoscaler),
        ),
        Arc::new(autoscaling::HorizontalPodAutoscalersV1::default()),
        Arc::new(events::EventsV1::default()),
        Arc::new(
            Plain::<batch::v1::Job>::new(Subdomain, true)
                .selecting(JOB_FIELDS)
                .defaulting(defaults::job)
                .validating(jobs::validate_job, jobs::validate_job_update),
        ),
        Arc::new(
            Plain::<batch::v1::CronJob>::new(Subdomain, true)
                .defaulting(defaults::cron_job)
                .validating(jobs::validate_cron_job, jobs::validate_cron_job_update),
        ),
        Arc::new(
            Plain::<k8s::networking::v1::Ingress>::new(Subdomain, true)
                .validating(networking::validate_ingress, networking::validate_ingress_update),
        ),
        Arc::new(
            Plain::<k8s::networking::v1::IngressClass>::new(Subdomain, true)
                .defaulting(networking::default_ingress_class)
                .validating(networking::validate_ingress_class, networking::validate_ingress_class_update),
        ),
        Arc::new(
            Plain::<k8s::networking::v1::NetworkPolicy>::new(Subdomain, true)
                .defaulting(networking::default_network_policy)
                .validating(networking::validate_network_policy, networking::validate_network_policy_update),
        ),
        Arc::new(
            Plain::<k8s::policy::v1::PodDisruptionBudget>::new(Subdomain, true)
                .validating(policy::validate_budget, policy::validate_budget_update),
        ),
        Arc::new(
            Plain::<k8s::rbac::v1::Role>::new(PathSegment, false)
                .validating(rbac::validate_role, rbac::validate_role_update),
        ),
        Arc::new(
            Plain::<k8s::rbac::v1::RoleBinding>::new(PathSegment, false)
                .defaulting(rbac::default_binding)
                .validating(rbac::validate_role_binding, rbac::validate_role_binding_update),
        ),
        Arc::new(
            Plain::<k8s::rbac::v1::ClusterRole>::new(PathSegment, false)
                .validating(rbac::validate_cluster_role, rbac::validate_cluster_role_update),
        ),
        Arc::new(
            Plain::<k8s::rbac::v1::ClusterRoleBinding>::new(PathSegment, false)
                .defaulting(rbac::default_binding)
                .validating(rbac::validate_cluster_role_binding, rbac::validate_cluster_role_binding_update),
        ),
        Arc::new(
            Plain::<k8s::storage::v1::StorageClass>::new(Subdomain, false)
                .defaulting(storage::default_class)
                .validating(storage::validate_class, storage::validate_class_update),
        ),
        Arc::new(
            Plain::<k8s::storage::v1::CSIDriver>::new(Subdomain, false)
                .defaulting(storage::default_driver)
                .validating(storage::validate_driver, storage::validate_driver_update),
        ),
        Arc::new(
            Plain::<k8s::storage::v1::CSINode>::new(Subdomain, false)
                .validating(storage::validate_node, storage::validate_node_update),
        ),
        Arc::new(
            Plain::<k8s::storage::v1::VolumeAttachment>::new(Subdomain, false)
                .validating(storage::validate_attachment, storage::validate_attachment_update),
        ),
        Arc::new(
            Plain::<k8s::storage::v1::CSIStorageCapacity>::new(Subdomain, false)
                .validating(storage::validate_capacity, storage::validate_capacity_update),
        ),
        plain::<apiextensions::v1::CustomResourceDefinition>(Subdomain, true),
        Arc::new(
            Plain::<k8s::scheduling::v1::PriorityClass>::new(Subdomain, false)
                .defaulting(scheduling::default_class)
                .validating(scheduling::validate_class, scheduling::validate_class_update),
        ),
        Arc::new(
            Plain::<k8s::coordination::v1::Lease>::new(Subdomain, false)
                .validating(coordination::validate_lease, coordination::validate_lease_update),
        ),
        Arc::new(
            Plain::<k8s::discovery::v1::EndpointSlice>::new(Subdomain, false)
                .defaulting(endpoints::default_endpoint_slice)
                .validating(endpoints::validate_endpoint_slice, endpoints::validate_endpoint_slice_update),
        ),
    ]
}
