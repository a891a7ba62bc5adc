//! Merge metadata of the built-in types' fields: for each property of a built-in definition that
//! upstream Kubernetes (v1.35.0) annotates with `x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, `x-kubernetes-list-map-keys` or
//! `x-kubernetes-map-type`, the values of those annotations, plus the definitions that carry a
//! type-level `x-kubernetes-map-type`.
//!
//! k8s-openapi's schemas do not carry these extensions, but clients depend on them: kubectl reads
//! them from our OpenAPI documents to build strategic merge patches, and server-side apply needs
//! them to know which lists are sets or maps (and by which keys) and which structs are atomic.
//! So this table is what annotates our OpenAPI documents and drives our strategic merge patch and
//! server-side apply of built-in types.
//!
//! These are facts extracted by a script from upstream's published OpenAPI spec
//! (`api/openapi-spec/swagger.json` of Kubernetes v1.35.0), for the groups core/v1, apps/v1,
//! batch/v1, autoscaling/v1, autoscaling/v2, policy/v1, networking.k8s.io/v1, discovery.k8s.io/v1,
//! storage.k8s.io/v1, coordination.k8s.io/v1, events.k8s.io/v1, rbac.authorization.k8s.io/v1,
//! scheduling.k8s.io/v1, authentication.k8s.io/v1, authorization.k8s.io/v1,
//! apiextensions.k8s.io/v1 and apimachinery's meta/v1. Definition names are upstream's (which are
//! also k8s-openapi's `JsonSchema::schema_name()`s). Properties without any of these annotations are
//! absent: for them, lists are atomic (replaced whole) and maps and structs are granular.

/// How a list property merges in server-side apply (`x-kubernetes-list-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// The list is one value: replaced whole.
    Atomic,
    /// The list is a set of scalars: items are merged by value.
    Set,
    /// The list is a map keyed by `list_map_keys`: items are merged by key.
    Map,
}

/// Merge metadata of one property of one definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMerge {
    /// Definition name as upstream's OpenAPI names it, e.g. "io.k8s.api.core.v1.PodSpec".
    pub definition: &'static str,
    /// JSON property name, e.g. "containers".
    pub property: &'static str,
    /// `x-kubernetes-patch-strategy`, e.g. "merge", "retainKeys", "merge,retainKeys", "replace".
    pub patch_strategy: Option<&'static str>,
    /// `x-kubernetes-patch-merge-key`.
    pub patch_merge_key: Option<&'static str>,
    /// `x-kubernetes-list-type`.
    pub list_type: Option<ListType>,
    /// `x-kubernetes-list-map-keys` (empty when none).
    pub list_map_keys: &'static [&'static str],
    /// `x-kubernetes-map-type` on the property ("atomic" or "granular").
    pub map_type: Option<&'static str>,
}

/// Shorthand for the table rows below: (definition, property, patch strategy, patch merge key,
/// list type, list map keys, map type).
const fn f(
    definition: &'static str,
    property: &'static str,
    patch_strategy: Option<&'static str>,
    patch_merge_key: Option<&'static str>,
    list_type: Option<ListType>,
    list_map_keys: &'static [&'static str],
    map_type: Option<&'static str>,
) -> FieldMerge {
    FieldMerge { definition, property, patch_strategy, patch_merge_key, list_type, list_map_keys, map_type }
}

use ListType::{Atomic, Map, Set};

/// Every annotated property, sorted by (definition, property) so lookups can binary-search.
pub const FIELDS: &[FieldMerge] = &[
    // apps/v1
    f("io.k8s.api.apps.v1.DaemonSetStatus", "conditions", Some("merge"), Some("type"), Some(Map), &["type"], None),
    f("io.k8s.api.apps.v1.DeploymentSpec", "strategy", Some("retainKeys"), None, None, &[], None),
    f("io.k8s.api.apps.v1.DeploymentStatus", "conditions", Some("merge"), Some("type"), Some(Map), &["type"], None),
    f("io.k8s.api.apps.v1.ReplicaSetStatus", "conditions", Some("merge"), Some("type"), Some(Map), &["type"], None),
    f("io.k8s.api.apps.v1.StatefulSetSpec", "volumeClaimTemplates", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.apps.v1.StatefulSetStatus", "conditions", Some("merge"), Some("type"), Some(Map), &["type"], None),
    // authentication.k8s.io/v1
    f("io.k8s.api.authentication.v1.TokenRequestSpec", "audiences", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authentication.v1.TokenReviewSpec", "audiences", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authentication.v1.TokenReviewStatus", "audiences", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authentication.v1.UserInfo", "groups", None, None, Some(Atomic), &[], None),
    // authorization.k8s.io/v1
    f("io.k8s.api.authorization.v1.FieldSelectorAttributes", "requirements", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authorization.v1.LabelSelectorAttributes", "requirements", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authorization.v1.NonResourceRule", "nonResourceURLs", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authorization.v1.NonResourceRule", "verbs", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authorization.v1.ResourceRule", "apiGroups", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authorization.v1.ResourceRule", "resourceNames", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authorization.v1.ResourceRule", "resources", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authorization.v1.ResourceRule", "verbs", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authorization.v1.SubjectAccessReviewSpec", "groups", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authorization.v1.SubjectRulesReviewStatus", "nonResourceRules", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.authorization.v1.SubjectRulesReviewStatus", "resourceRules", None, None, Some(Atomic), &[], None),
    // autoscaling/v2
    f("io.k8s.api.autoscaling.v2.HPAScalingRules", "policies", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec", "metrics", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus",
        "conditions",
        Some("merge"),
        Some("type"),
        Some(Map),
        &["type"],
        None,
    ),
    f("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus", "currentMetrics", None, None, Some(Atomic), &[], None),
    // batch/v1
    f("io.k8s.api.batch.v1.CronJobStatus", "active", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.batch.v1.JobStatus", "conditions", Some("merge"), Some("type"), Some(Atomic), &[], None),
    f("io.k8s.api.batch.v1.PodFailurePolicy", "rules", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement", "values", None, None, Some(Set), &[], None),
    f("io.k8s.api.batch.v1.PodFailurePolicyRule", "onPodConditions", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.batch.v1.SuccessPolicy", "rules", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.batch.v1.UncountedTerminatedPods", "failed", None, None, Some(Set), &[], None),
    f("io.k8s.api.batch.v1.UncountedTerminatedPods", "succeeded", None, None, Some(Set), &[], None),
    // core/v1
    f("io.k8s.api.core.v1.Capabilities", "add", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.Capabilities", "drop", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.CephFSPersistentVolumeSource", "monitors", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.CephFSVolumeSource", "monitors", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ComponentStatus", "conditions", Some("merge"), Some("type"), Some(Map), &["type"], None),
    f("io.k8s.api.core.v1.ConfigMapProjection", "items", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ConfigMapVolumeSource", "items", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.Container", "args", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.Container", "command", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.Container", "env", Some("merge"), Some("name"), Some(Map), &["name"], None),
    f("io.k8s.api.core.v1.Container", "envFrom", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.core.v1.Container",
        "ports",
        Some("merge"),
        Some("containerPort"),
        Some(Map),
        &["containerPort", "protocol"],
        None,
    ),
    f("io.k8s.api.core.v1.Container", "resizePolicy", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.Container", "restartPolicyRules", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.core.v1.Container",
        "volumeDevices",
        Some("merge"),
        Some("devicePath"),
        Some(Map),
        &["devicePath"],
        None,
    ),
    f(
        "io.k8s.api.core.v1.Container",
        "volumeMounts",
        Some("merge"),
        Some("mountPath"),
        Some(Map),
        &["mountPath"],
        None,
    ),
    f("io.k8s.api.core.v1.ContainerImage", "names", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ContainerRestartRuleOnExitCodes", "values", None, None, Some(Set), &[], None),
    f(
        "io.k8s.api.core.v1.ContainerStatus",
        "allocatedResourcesStatus",
        Some("merge"),
        Some("name"),
        Some(Map),
        &["name"],
        None,
    ),
    f(
        "io.k8s.api.core.v1.ContainerStatus",
        "volumeMounts",
        Some("merge"),
        Some("mountPath"),
        Some(Map),
        &["mountPath"],
        None,
    ),
    f("io.k8s.api.core.v1.DownwardAPIProjection", "items", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.DownwardAPIVolumeSource", "items", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.EndpointSubset", "addresses", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.EndpointSubset", "notReadyAddresses", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.EndpointSubset", "ports", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.Endpoints", "subsets", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.EphemeralContainer", "args", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.EphemeralContainer", "command", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.EphemeralContainer", "env", Some("merge"), Some("name"), Some(Map), &["name"], None),
    f("io.k8s.api.core.v1.EphemeralContainer", "envFrom", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.core.v1.EphemeralContainer",
        "ports",
        Some("merge"),
        Some("containerPort"),
        Some(Map),
        &["containerPort", "protocol"],
        None,
    ),
    f("io.k8s.api.core.v1.EphemeralContainer", "resizePolicy", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.EphemeralContainer", "restartPolicyRules", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeDevices",
        Some("merge"),
        Some("devicePath"),
        Some(Map),
        &["devicePath"],
        None,
    ),
    f(
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeMounts",
        Some("merge"),
        Some("mountPath"),
        Some(Map),
        &["mountPath"],
        None,
    ),
    f("io.k8s.api.core.v1.ExecAction", "command", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.FCVolumeSource", "targetWWNs", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.FCVolumeSource", "wwids", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.HTTPGetAction", "httpHeaders", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.HostAlias", "hostnames", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ISCSIPersistentVolumeSource", "portals", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ISCSIVolumeSource", "portals", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.LimitRangeSpec", "limits", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.LinuxContainerUser", "supplementalGroups", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.LoadBalancerIngress", "ports", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.LoadBalancerStatus", "ingress", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NamespaceSpec", "finalizers", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NamespaceStatus", "conditions", Some("merge"), Some("type"), Some(Map), &["type"], None),
    f(
        "io.k8s.api.core.v1.NodeAffinity",
        "preferredDuringSchedulingIgnoredDuringExecution",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f("io.k8s.api.core.v1.NodeSelector", "nodeSelectorTerms", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NodeSelectorRequirement", "values", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NodeSelectorTerm", "matchExpressions", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NodeSelectorTerm", "matchFields", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NodeSpec", "podCIDRs", Some("merge"), None, Some(Set), &[], None),
    f("io.k8s.api.core.v1.NodeSpec", "taints", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NodeStatus", "addresses", Some("merge"), Some("type"), Some(Map), &["type"], None),
    f("io.k8s.api.core.v1.NodeStatus", "conditions", Some("merge"), Some("type"), Some(Map), &["type"], None),
    f("io.k8s.api.core.v1.NodeStatus", "declaredFeatures", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NodeStatus", "images", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NodeStatus", "runtimeHandlers", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NodeStatus", "volumesAttached", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.NodeStatus", "volumesInUse", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PersistentVolumeClaimSpec", "accessModes", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PersistentVolumeClaimStatus", "accessModes", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.core.v1.PersistentVolumeClaimStatus",
        "allocatedResourceStatuses",
        None,
        None,
        None,
        &[],
        Some("granular"),
    ),
    f(
        "io.k8s.api.core.v1.PersistentVolumeClaimStatus",
        "conditions",
        Some("merge"),
        Some("type"),
        Some(Map),
        &["type"],
        None,
    ),
    f("io.k8s.api.core.v1.PersistentVolumeSpec", "accessModes", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PersistentVolumeSpec", "claimRef", None, None, None, &[], Some("granular")),
    f("io.k8s.api.core.v1.PersistentVolumeSpec", "mountOptions", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.core.v1.PodAffinity",
        "preferredDuringSchedulingIgnoredDuringExecution",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.api.core.v1.PodAffinity",
        "requiredDuringSchedulingIgnoredDuringExecution",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f("io.k8s.api.core.v1.PodAffinityTerm", "matchLabelKeys", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodAffinityTerm", "mismatchLabelKeys", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodAffinityTerm", "namespaces", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.core.v1.PodAntiAffinity",
        "preferredDuringSchedulingIgnoredDuringExecution",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.api.core.v1.PodAntiAffinity",
        "requiredDuringSchedulingIgnoredDuringExecution",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f("io.k8s.api.core.v1.PodDNSConfig", "nameservers", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodDNSConfig", "options", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodDNSConfig", "searches", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodExtendedResourceClaimStatus", "requestMappings", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodSecurityContext", "supplementalGroups", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodSecurityContext", "sysctls", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodSpec", "containers", Some("merge"), Some("name"), Some(Map), &["name"], None),
    f("io.k8s.api.core.v1.PodSpec", "ephemeralContainers", Some("merge"), Some("name"), Some(Map), &["name"], None),
    f("io.k8s.api.core.v1.PodSpec", "hostAliases", Some("merge"), Some("ip"), Some(Map), &["ip"], None),
    f("io.k8s.api.core.v1.PodSpec", "imagePullSecrets", Some("merge"), Some("name"), Some(Map), &["name"], None),
    f("io.k8s.api.core.v1.PodSpec", "initContainers", Some("merge"), Some("name"), Some(Map), &["name"], None),
    f("io.k8s.api.core.v1.PodSpec", "nodeSelector", None, None, None, &[], Some("atomic")),
    f("io.k8s.api.core.v1.PodSpec", "readinessGates", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.core.v1.PodSpec",
        "resourceClaims",
        Some("merge,retainKeys"),
        Some("name"),
        Some(Map),
        &["name"],
        None,
    ),
    f("io.k8s.api.core.v1.PodSpec", "schedulingGates", Some("merge"), Some("name"), Some(Map), &["name"], None),
    f("io.k8s.api.core.v1.PodSpec", "tolerations", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.core.v1.PodSpec",
        "topologySpreadConstraints",
        Some("merge"),
        Some("topologyKey"),
        Some(Map),
        &["topologyKey", "whenUnsatisfiable"],
        None,
    ),
    f("io.k8s.api.core.v1.PodSpec", "volumes", Some("merge,retainKeys"), Some("name"), Some(Map), &["name"], None),
    f("io.k8s.api.core.v1.PodStatus", "conditions", Some("merge"), Some("type"), Some(Map), &["type"], None),
    f("io.k8s.api.core.v1.PodStatus", "containerStatuses", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodStatus", "ephemeralContainerStatuses", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodStatus", "hostIPs", Some("merge"), Some("ip"), Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodStatus", "initContainerStatuses", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.PodStatus", "podIPs", Some("merge"), Some("ip"), Some(Map), &["ip"], None),
    f(
        "io.k8s.api.core.v1.PodStatus",
        "resourceClaimStatuses",
        Some("merge,retainKeys"),
        Some("name"),
        Some(Map),
        &["name"],
        None,
    ),
    f("io.k8s.api.core.v1.ProjectedVolumeSource", "sources", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.RBDPersistentVolumeSource", "monitors", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.RBDVolumeSource", "monitors", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ReplicationControllerSpec", "selector", None, None, None, &[], Some("atomic")),
    f(
        "io.k8s.api.core.v1.ReplicationControllerStatus",
        "conditions",
        Some("merge"),
        Some("type"),
        Some(Map),
        &["type"],
        None,
    ),
    f("io.k8s.api.core.v1.ResourceQuotaSpec", "scopes", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ResourceRequirements", "claims", None, None, Some(Map), &["name"], None),
    f("io.k8s.api.core.v1.ResourceStatus", "resources", None, None, Some(Map), &["resourceID"], None),
    f("io.k8s.api.core.v1.ScopeSelector", "matchExpressions", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ScopedResourceSelectorRequirement", "values", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.SecretProjection", "items", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.SecretVolumeSource", "items", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ServiceAccount", "imagePullSecrets", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ServiceAccount", "secrets", Some("merge"), Some("name"), Some(Map), &["name"], None),
    f("io.k8s.api.core.v1.ServiceSpec", "clusterIPs", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ServiceSpec", "externalIPs", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ServiceSpec", "ipFamilies", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ServiceSpec", "loadBalancerSourceRanges", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.ServiceSpec", "ports", Some("merge"), Some("port"), Some(Map), &["port", "protocol"], None),
    f("io.k8s.api.core.v1.ServiceSpec", "selector", None, None, None, &[], Some("atomic")),
    f("io.k8s.api.core.v1.ServiceStatus", "conditions", Some("merge"), Some("type"), Some(Map), &["type"], None),
    f("io.k8s.api.core.v1.TopologySelectorLabelRequirement", "values", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.TopologySelectorTerm", "matchLabelExpressions", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.core.v1.TopologySpreadConstraint", "matchLabelKeys", None, None, Some(Atomic), &[], None),
    // discovery.k8s.io/v1
    f("io.k8s.api.discovery.v1.Endpoint", "addresses", None, None, Some(Set), &[], None),
    f("io.k8s.api.discovery.v1.EndpointHints", "forNodes", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.discovery.v1.EndpointHints", "forZones", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.discovery.v1.EndpointSlice", "endpoints", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.discovery.v1.EndpointSlice", "ports", None, None, Some(Atomic), &[], None),
    // networking.k8s.io/v1
    f("io.k8s.api.networking.v1.HTTPIngressRuleValue", "paths", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.IPBlock", "except", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.IngressLoadBalancerIngress", "ports", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.IngressLoadBalancerStatus", "ingress", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.IngressSpec", "rules", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.IngressSpec", "tls", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.IngressTLS", "hosts", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.NetworkPolicyEgressRule", "ports", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.NetworkPolicyEgressRule", "to", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.NetworkPolicyIngressRule", "from", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.NetworkPolicyIngressRule", "ports", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.NetworkPolicySpec", "egress", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.NetworkPolicySpec", "ingress", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.NetworkPolicySpec", "policyTypes", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.networking.v1.ServiceCIDRSpec", "cidrs", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.api.networking.v1.ServiceCIDRStatus",
        "conditions",
        Some("merge"),
        Some("type"),
        Some(Map),
        &["type"],
        None,
    ),
    // policy/v1
    f("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", "selector", Some("replace"), None, None, &[], None),
    f(
        "io.k8s.api.policy.v1.PodDisruptionBudgetStatus",
        "conditions",
        Some("merge"),
        Some("type"),
        Some(Map),
        &["type"],
        None,
    ),
    // rbac.authorization.k8s.io/v1
    f("io.k8s.api.rbac.v1.AggregationRule", "clusterRoleSelectors", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.rbac.v1.ClusterRole", "rules", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.rbac.v1.ClusterRoleBinding", "subjects", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.rbac.v1.PolicyRule", "apiGroups", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.rbac.v1.PolicyRule", "nonResourceURLs", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.rbac.v1.PolicyRule", "resourceNames", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.rbac.v1.PolicyRule", "resources", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.rbac.v1.PolicyRule", "verbs", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.rbac.v1.Role", "rules", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.rbac.v1.RoleBinding", "subjects", None, None, Some(Atomic), &[], None),
    // storage.k8s.io/v1
    f("io.k8s.api.storage.v1.CSIDriverSpec", "tokenRequests", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.storage.v1.CSIDriverSpec", "volumeLifecycleModes", None, None, Some(Set), &[], None),
    f("io.k8s.api.storage.v1.CSINodeDriver", "topologyKeys", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.storage.v1.CSINodeSpec", "drivers", Some("merge"), Some("name"), Some(Map), &["name"], None),
    f("io.k8s.api.storage.v1.StorageClass", "allowedTopologies", None, None, Some(Atomic), &[], None),
    f("io.k8s.api.storage.v1.StorageClass", "mountOptions", None, None, Some(Atomic), &[], None),
    // apiextensions.k8s.io/v1
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames",
        "categories",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames",
        "shortNames",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec",
        "versions",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus",
        "conditions",
        None,
        None,
        Some(Map),
        &["type"],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus",
        "storedVersions",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion",
        "additionalPrinterColumns",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion",
        "selectableFields",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "allOf",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "anyOf",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "enum",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "oneOf",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "required",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "x-kubernetes-list-map-keys",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "x-kubernetes-validations",
        Some("merge"),
        Some("rule"),
        Some(Map),
        &["rule"],
        None,
    ),
    f(
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookConversion",
        "conversionReviewVersions",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    // meta/v1 (apimachinery)
    f(
        "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup",
        "serverAddressByClientCIDRs",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup", "versions", None, None, Some(Atomic), &[], None),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList", "groups", None, None, Some(Atomic), &[], None),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", "categories", None, None, Some(Atomic), &[], None),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIResource", "shortNames", None, None, Some(Atomic), &[], None),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList", "resources", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions",
        "serverAddressByClientCIDRs",
        None,
        None,
        Some(Atomic),
        &[],
        None,
    ),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions", "versions", None, None, Some(Atomic), &[], None),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", "dryRun", None, None, Some(Atomic), &[], None),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement", "values", None, None, Some(Atomic), &[], None),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", "matchExpressions", None, None, Some(Atomic), &[], None),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement", "values", None, None, Some(Atomic), &[], None),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", Some("merge"), None, Some(Set), &[], None),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "managedFields", None, None, Some(Atomic), &[], None),
    f(
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ownerReferences",
        Some("merge"),
        Some("uid"),
        Some(Map),
        &["uid"],
        None,
    ),
    f("io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails", "causes", None, None, Some(Atomic), &[], None),
];

/// Definitions whose type-level `x-kubernetes-map-type` is set (e.g. atomic structs), sorted.
pub const ATOMIC_STRUCTS: &[(&str, &str)] = &[
    // autoscaling/v1
    ("io.k8s.api.autoscaling.v1.CrossVersionObjectReference", "atomic"),
    // core/v1
    ("io.k8s.api.core.v1.ConfigMapKeySelector", "atomic"),
    ("io.k8s.api.core.v1.EndpointAddress", "atomic"),
    ("io.k8s.api.core.v1.EndpointPort", "atomic"),
    ("io.k8s.api.core.v1.FileKeySelector", "atomic"),
    ("io.k8s.api.core.v1.LocalObjectReference", "atomic"),
    ("io.k8s.api.core.v1.NodeSelector", "atomic"),
    ("io.k8s.api.core.v1.NodeSelectorTerm", "atomic"),
    ("io.k8s.api.core.v1.ObjectFieldSelector", "atomic"),
    ("io.k8s.api.core.v1.ObjectReference", "atomic"),
    ("io.k8s.api.core.v1.ResourceFieldSelector", "atomic"),
    ("io.k8s.api.core.v1.ScopeSelector", "atomic"),
    ("io.k8s.api.core.v1.SecretKeySelector", "atomic"),
    ("io.k8s.api.core.v1.SecretReference", "atomic"),
    ("io.k8s.api.core.v1.TopologySelectorTerm", "atomic"),
    ("io.k8s.api.core.v1.TypedLocalObjectReference", "atomic"),
    // discovery.k8s.io/v1
    ("io.k8s.api.discovery.v1.EndpointPort", "atomic"),
    // networking.k8s.io/v1
    ("io.k8s.api.networking.v1.ServiceBackendPort", "atomic"),
    // rbac.authorization.k8s.io/v1
    ("io.k8s.api.rbac.v1.RoleRef", "atomic"),
    ("io.k8s.api.rbac.v1.Subject", "atomic"),
    // meta/v1 (apimachinery)
    ("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector", "atomic"),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference", "atomic"),
];

/// The type-level `x-kubernetes-map-type` of `definition`, if it has one.
pub fn struct_map_type(definition: &str) -> Option<&'static str> {
    ATOMIC_STRUCTS.binary_search_by(|(name, _)| (*name).cmp(definition)).ok().map(|i| ATOMIC_STRUCTS[i].1)
}

/// The merge metadata of `definition.property`, if any.
pub fn field(definition: &str, property: &str) -> Option<&'static FieldMerge> {
    FIELDS.binary_search_by(|f| (f.definition, f.property).cmp(&(definition, property))).ok().map(|i| &FIELDS[i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::schemars::SchemaGenerator;

    #[test]
    fn tables_are_sorted_without_duplicates() {
        for pair in FIELDS.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                (a.definition, a.property) < (b.definition, b.property),
                "FIELDS: {}.{} must sort strictly before {}.{}",
                a.definition,
                a.property,
                b.definition,
                b.property
            );
        }
        for pair in ATOMIC_STRUCTS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "ATOMIC_STRUCTS: {} must sort strictly before {}", pair[0].0, pair[1].0);
        }
    }

    #[test]
    fn rows_are_consistent() {
        for f in FIELDS {
            let row = format!("{}.{}", f.definition, f.property);
            assert_eq!(f.list_type == Some(Map), !f.list_map_keys.is_empty(), "{row}: map keys iff map list");
            if f.patch_merge_key.is_some() {
                assert!(
                    f.patch_strategy.is_some_and(|s| s.split(',').any(|s| s == "merge")),
                    "{row}: merge key without merge"
                );
            }
            assert!(f.map_type.is_none_or(|t| t == "atomic" || t == "granular"), "{row}: map type");
            assert!(
                f.patch_strategy.is_some()
                    || f.patch_merge_key.is_some()
                    || f.list_type.is_some()
                    || f.map_type.is_some(),
                "{row}: row without metadata"
            );
        }
        for (definition, map_type) in ATOMIC_STRUCTS {
            assert!(*map_type == "atomic" || *map_type == "granular", "{definition}: map type");
        }
    }

    fn expect(
        definition: &str,
        property: &str,
        patch_strategy: Option<&str>,
        patch_merge_key: Option<&str>,
        list_type: Option<ListType>,
        list_map_keys: &[&str],
    ) {
        let f = field(definition, property).unwrap_or_else(|| panic!("{definition}.{property} is not in the table"));
        assert_eq!(f.patch_strategy, patch_strategy, "{definition}.{property} patch strategy");
        assert_eq!(f.patch_merge_key, patch_merge_key, "{definition}.{property} patch merge key");
        assert_eq!(f.list_type, list_type, "{definition}.{property} list type");
        assert_eq!(f.list_map_keys, list_map_keys, "{definition}.{property} list map keys");
    }

    #[test]
    fn spot_checks() {
        let core = |name: &str| format!("io.k8s.api.core.v1.{name}");
        let meta = |name: &str| format!("io.k8s.apimachinery.pkg.apis.meta.v1.{name}");
        expect(&core("PodSpec"), "containers", Some("merge"), Some("name"), Some(Map), &["name"]);
        expect(
            &core("Container"),
            "ports",
            Some("merge"),
            Some("containerPort"),
            Some(Map),
            &["containerPort", "protocol"],
        );
        expect(&core("ServiceSpec"), "ports", Some("merge"), Some("port"), Some(Map), &["port", "protocol"]);
        expect(&meta("ObjectMeta"), "finalizers", Some("merge"), None, Some(Set), &[]);
        expect(&meta("ObjectMeta"), "ownerReferences", Some("merge"), Some("uid"), Some(Map), &["uid"]);
        expect("io.k8s.api.apps.v1.DeploymentSpec", "strategy", Some("retainKeys"), None, None, &[]);
        let volumes = field(&core("PodSpec"), "volumes").expect("PodSpec.volumes");
        assert_eq!((volumes.patch_strategy, volumes.patch_merge_key), (Some("merge,retainKeys"), Some("name")));

        assert_eq!(field(&core("PodSpec"), "nodeName"), None);
        assert_eq!(field("io.k8s.api.core.v1.NoSuchThing", "containers"), None);
        assert!(ATOMIC_STRUCTS.contains(&(meta("LabelSelector").as_str(), "atomic")));
    }

    /// A generator holding k8s-openapi's schemas of the listed groups' top-level kinds and
    /// everything they reference.
    fn generator() -> SchemaGenerator {
        use k8s_openapi::api::{
            apps, authentication, authorization, autoscaling, batch, coordination, core, discovery, events, networking,
            policy, rbac, scheduling, storage,
        };
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
        use k8s_openapi::apimachinery::pkg::apis::meta;

        macro_rules! with {
            ($($ty:ty),* $(,)?) => {{
                let mut generator = SchemaGenerator::default();
                $(let _ = generator.subschema_for::<$ty>();)*
                generator
            }};
        }
        with!(
            core::v1::Binding,
            core::v1::ComponentStatus,
            core::v1::ConfigMap,
            core::v1::Endpoints,
            core::v1::Event,
            core::v1::LimitRange,
            core::v1::Namespace,
            core::v1::Node,
            core::v1::PersistentVolume,
            core::v1::PersistentVolumeClaim,
            core::v1::Pod,
            core::v1::PodTemplate,
            core::v1::ReplicationController,
            core::v1::ResourceQuota,
            core::v1::Secret,
            core::v1::Service,
            core::v1::ServiceAccount,
            apps::v1::ControllerRevision,
            apps::v1::DaemonSet,
            apps::v1::Deployment,
            apps::v1::ReplicaSet,
            apps::v1::StatefulSet,
            batch::v1::CronJob,
            batch::v1::Job,
            autoscaling::v1::HorizontalPodAutoscaler,
            autoscaling::v1::Scale,
            autoscaling::v2::HorizontalPodAutoscaler,
            policy::v1::Eviction,
            policy::v1::PodDisruptionBudget,
            networking::v1::Ingress,
            networking::v1::IngressClass,
            networking::v1::IPAddress,
            networking::v1::NetworkPolicy,
            networking::v1::ServiceCIDR,
            discovery::v1::EndpointSlice,
            storage::v1::CSIDriver,
            storage::v1::CSINode,
            storage::v1::CSIStorageCapacity,
            storage::v1::StorageClass,
            storage::v1::VolumeAttachment,
            storage::v1::VolumeAttributesClass,
            coordination::v1::Lease,
            events::v1::Event,
            rbac::v1::ClusterRole,
            rbac::v1::ClusterRoleBinding,
            rbac::v1::Role,
            rbac::v1::RoleBinding,
            scheduling::v1::PriorityClass,
            authentication::v1::SelfSubjectReview,
            authentication::v1::TokenRequest,
            authentication::v1::TokenReview,
            authorization::v1::LocalSubjectAccessReview,
            authorization::v1::SelfSubjectAccessReview,
            authorization::v1::SelfSubjectRulesReview,
            authorization::v1::SubjectAccessReview,
            apiextensions::v1::CustomResourceDefinition,
            meta::v1::APIGroup,
            meta::v1::APIGroupList,
            meta::v1::APIResourceList,
            meta::v1::APIVersions,
            meta::v1::DeleteOptions,
            meta::v1::Status,
        )
    }

    #[test]
    fn every_row_names_a_property_of_k8s_openapis_schemas() {
        let generator = generator();
        let definitions = generator.definitions();
        let mut missing = Vec::new();
        for f in FIELDS {
            match definitions.get(f.definition) {
                None => missing.push(format!("definition {}", f.definition)),
                Some(schema) => {
                    if schema.get("properties").and_then(|properties| properties.get(f.property)).is_none() {
                        missing.push(format!("property {}.{}", f.definition, f.property));
                    }
                }
            }
        }
        for (definition, _) in ATOMIC_STRUCTS {
            if !definitions.contains_key(*definition) {
                missing.push(format!("definition {definition}"));
            }
        }
        assert!(missing.is_empty(), "not in k8s-openapi's schemas: {missing:#?}");
    }
}
