//! The table of built-in resources: one row per served group/version/resource, with the facts
//! discovery, routing and kubectl need (kind, scope, singular and short names, categories,
//! verbs, subresources). Routes and discovery documents are derived from this one list.
//!
//! The facts are upstream's (kube-apiserver v1.35 discovery); the unit tests check every row
//! against `k8s-openapi`'s generated metadata for the same type.

/// An API verb, as discovery lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    /// POST a new object.
    Create,
    /// DELETE one object.
    Delete,
    /// DELETE a collection.
    DeleteCollection,
    /// GET one object.
    Get,
    /// GET a collection.
    List,
    /// PATCH one object.
    Patch,
    /// PUT one object.
    Update,
    /// GET with `watch=true`.
    Watch,
}

impl Verb {
    /// The lowercase name discovery uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Patch => "patch",
            Verb::Update => "update",
            Verb::Watch => "watch",
        }
    }
}

/// Every verb of a stored resource.
pub const ALL_VERBS: &[Verb] = &[
    Verb::Create,
    Verb::Delete,
    Verb::DeleteCollection,
    Verb::Get,
    Verb::List,
    Verb::Patch,
    Verb::Update,
    Verb::Watch,
];
/// Namespaces: everything but deletecollection.
const NAMESPACE_VERBS: &[Verb] =
    &[Verb::Create, Verb::Delete, Verb::Get, Verb::List, Verb::Patch, Verb::Update, Verb::Watch];
/// Virtual resources that only answer a POST (reviews, bindings).
const CREATE_ONLY: &[Verb] = &[Verb::Create];
/// Read-only resources.
const READ_ONLY: &[Verb] = &[Verb::Get, Verb::List];
/// status, scale and similar subresources.
const GET_PATCH_UPDATE: &[Verb] = &[Verb::Get, Verb::Patch, Verb::Update];
/// exec, attach, portforward (GET upgrades or POST).
const CREATE_GET: &[Verb] = &[Verb::Create, Verb::Get];
/// Proxies pass every method through.
const PROXY_VERBS: &[Verb] = &[Verb::Create, Verb::Delete, Verb::Get, Verb::Patch, Verb::Update];

/// A subresource (`pods/status`, `deployments/scale`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    /// The path segment after the object's name.
    pub name: &'static str,
    /// Group of the subresource's kind (differs from the parent for scale, eviction, token).
    pub group: &'static str,
    /// Version of the subresource's kind.
    pub version: &'static str,
    /// The kind sent and received.
    pub kind: &'static str,
    /// What it serves.
    pub verbs: &'static [Verb],
}

/// One served group/version/resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group (empty for core).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Plural name: the URL segment.
    pub plural: &'static str,
    /// Singular name (`kubectl get pod`).
    pub singular: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names (`po`, `deploy`).
    pub short_names: &'static [&'static str],
    /// Categories (`all` for `kubectl get all`).
    pub categories: &'static [&'static str],
    /// Verbs on the resource itself.
    pub verbs: &'static [Verb],
    /// Subresources.
    pub subresources: &'static [Subresource],
}

impl ResourceInfo {
    /// `group/version`, or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }

    /// Whether the resource serves `verb`.
    pub fn serves(&self, verb: Verb) -> bool {
        self.verbs.contains(&verb)
    }

    /// The named subresource, if served.
    pub fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }
}

/// Builds a row: `group version plural singular Kind namespaced [short] [categories] verbs [subs]`.
macro_rules! resource {
    ($group:literal $version:literal $plural:literal $singular:literal $kind:literal $namespaced:literal
     [$($short:literal),*] [$($category:literal),*] $verbs:expr, [$($sub:expr),* $(,)?]) => {
        ResourceInfo {
            group: $group,
            version: $version,
            plural: $plural,
            singular: $singular,
            kind: $kind,
            namespaced: $namespaced,
            short_names: &[$($short),*],
            categories: &[$($category),*],
            verbs: $verbs,
            subresources: &[$($sub),*],
        }
    };
}

const fn sub(
    name: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    verbs: &'static [Verb],
) -> Subresource {
    Subresource { name, group, version, kind, verbs }
}

/// `status` of a kind in its own group/version.
const fn status(group: &'static str, version: &'static str, kind: &'static str) -> Subresource {
    sub("status", group, version, kind, GET_PATCH_UPDATE)
}

/// `scale`, always an `autoscaling/v1` Scale.
const SCALE: Subresource = sub("scale", "autoscaling", "v1", "Scale", GET_PATCH_UPDATE);

/// Every built-in resource we serve, grouped by API group in discovery order.
pub static RESOURCES: &[ResourceInfo] = &[
    // core/v1
    resource!("" "v1" "bindings" "binding" "Binding" true [] [] CREATE_ONLY, []),
    resource!("" "v1" "componentstatuses" "componentstatus" "ComponentStatus" false ["cs"] [] READ_ONLY, []),
    resource!("" "v1" "configmaps" "configmap" "ConfigMap" true ["cm"] [] ALL_VERBS, []),
    resource!("" "v1" "endpoints" "endpoints" "Endpoints" true ["ep"] [] ALL_VERBS, []),
    resource!("" "v1" "events" "event" "Event" true ["ev"] [] ALL_VERBS, []),
    resource!("" "v1" "limitranges" "limitrange" "LimitRange" true ["limits"] [] ALL_VERBS, []),
    resource!("" "v1" "namespaces" "namespace" "Namespace" false ["ns"] [] NAMESPACE_VERBS, [
        sub("finalize", "", "v1", "Namespace", &[Verb::Update]),
        status("", "v1", "Namespace"),
    ]),
    resource!("" "v1" "nodes" "node" "Node" false ["no"] [] ALL_VERBS, [
        sub("proxy", "", "v1", "NodeProxyOptions", PROXY_VERBS),
        status("", "v1", "Node"),
    ]),
    resource!("" "v1" "persistentvolumeclaims" "persistentvolumeclaim" "PersistentVolumeClaim" true ["pvc"] [] ALL_VERBS, [
        status("", "v1", "PersistentVolumeClaim"),
    ]),
    resource!("" "v1" "persistentvolumes" "persistentvolume" "PersistentVolume" false ["pv"] [] ALL_VERBS, [
        status("", "v1", "PersistentVolume"),
    ]),
    resource!("" "v1" "pods" "pod" "Pod" true ["po"] ["all"] ALL_VERBS, [
        sub("attach", "", "v1", "PodAttachOptions", CREATE_GET),
        sub("binding", "", "v1", "Binding", CREATE_ONLY),
        sub("ephemeralcontainers", "", "v1", "Pod", GET_PATCH_UPDATE),
        sub("eviction", "policy", "v1", "Eviction", CREATE_ONLY),
        sub("exec", "", "v1", "PodExecOptions", CREATE_GET),
        sub("log", "", "v1", "Pod", &[Verb::Get]),
        sub("portforward", "", "v1", "PodPortForwardOptions", CREATE_GET),
        sub("proxy", "", "v1", "PodProxyOptions", PROXY_VERBS),
        sub("resize", "", "v1", "Pod", GET_PATCH_UPDATE),
        status("", "v1", "Pod"),
    ]),
    resource!("" "v1" "podtemplates" "podtemplate" "PodTemplate" true [] [] ALL_VERBS, []),
    resource!("" "v1" "replicationcontrollers" "replicationcontroller" "ReplicationController" true ["rc"] ["all"] ALL_VERBS, [
        SCALE,
        status("", "v1", "ReplicationController"),
    ]),
    resource!("" "v1" "resourcequotas" "resourcequota" "ResourceQuota" true ["quota"] [] ALL_VERBS, [
        status("", "v1", "ResourceQuota"),
    ]),
    resource!("" "v1" "secrets" "secret" "Secret" true [] [] ALL_VERBS, []),
    resource!("" "v1" "serviceaccounts" "serviceaccount" "ServiceAccount" true ["sa"] [] ALL_VERBS, [
        sub("token", "authentication.k8s.io", "v1", "TokenRequest", CREATE_ONLY),
    ]),
    resource!("" "v1" "services" "service" "Service" true ["svc"] ["all"] ALL_VERBS, [
        sub("proxy", "", "v1", "ServiceProxyOptions", PROXY_VERBS),
        status("", "v1", "Service"),
    ]),
    // apps/v1
    resource!("apps" "v1" "controllerrevisions" "controllerrevision" "ControllerRevision" true [] [] ALL_VERBS, []),
    resource!("apps" "v1" "daemonsets" "daemonset" "DaemonSet" true ["ds"] ["all"] ALL_VERBS, [
        status("apps", "v1", "DaemonSet"),
    ]),
    resource!("apps" "v1" "deployments" "deployment" "Deployment" true ["deploy"] ["all"] ALL_VERBS, [
        SCALE,
        status("apps", "v1", "Deployment"),
    ]),
    resource!("apps" "v1" "replicasets" "replicaset" "ReplicaSet" true ["rs"] ["all"] ALL_VERBS, [
        SCALE,
        status("apps", "v1", "ReplicaSet"),
    ]),
    resource!("apps" "v1" "statefulsets" "statefulset" "StatefulSet" true ["sts"] ["all"] ALL_VERBS, [
        SCALE,
        status("apps", "v1", "StatefulSet"),
    ]),
    // events.k8s.io/v1
    resource!("events.k8s.io" "v1" "events" "event" "Event" true ["ev"] [] ALL_VERBS, []),
    // authentication.k8s.io/v1
    resource!("authentication.k8s.io" "v1" "selfsubjectreviews" "selfsubjectreview" "SelfSubjectReview" false [] [] CREATE_ONLY, []),
    resource!("authentication.k8s.io" "v1" "tokenreviews" "tokenreview" "TokenReview" false [] [] CREATE_ONLY, []),
    // authorization.k8s.io/v1
    resource!("authorization.k8s.io" "v1" "localsubjectaccessreviews" "localsubjectaccessreview" "LocalSubjectAccessReview" true [] [] CREATE_ONLY, []),
    resource!("authorization.k8s.io" "v1" "selfsubjectaccessreviews" "selfsubjectaccessreview" "SelfSubjectAccessReview" false [] [] CREATE_ONLY, []),
    resource!("authorization.k8s.io" "v1" "selfsubjectrulesreviews" "selfsubjectrulesreview" "SelfSubjectRulesReview" false [] [] CREATE_ONLY, []),
    resource!("authorization.k8s.io" "v1" "subjectaccessreviews" "subjectaccessreview" "SubjectAccessReview" false [] [] CREATE_ONLY, []),
    // autoscaling: v2 preferred, v1 still served
    resource!("autoscaling" "v2" "horizontalpodautoscalers" "horizontalpodautoscaler" "HorizontalPodAutoscaler" true ["hpa"] ["all"] ALL_VERBS, [
        status("autoscaling", "v2", "HorizontalPodAutoscaler"),
    ]),
    resource!("autoscaling" "v1" "horizontalpodautoscalers" "horizontalpodautoscaler" "HorizontalPodAutoscaler" true ["hpa"] ["all"] ALL_VERBS, [
        status("autoscaling", "v1", "HorizontalPodAutoscaler"),
    ]),
    // batch/v1
    resource!("batch" "v1" "cronjobs" "cronjob" "CronJob" true ["cj"] ["all"] ALL_VERBS, [
        status("batch", "v1", "CronJob"),
    ]),
    resource!("batch" "v1" "jobs" "job" "Job" true [] ["all"] ALL_VERBS, [
        status("batch", "v1", "Job"),
    ]),
    // networking.k8s.io/v1
    resource!("networking.k8s.io" "v1" "ingressclasses" "ingressclass" "IngressClass" false [] [] ALL_VERBS, []),
    resource!("networking.k8s.io" "v1" "ingresses" "ingress" "Ingress" true ["ing"] [] ALL_VERBS, [
        status("networking.k8s.io", "v1", "Ingress"),
    ]),
    resource!("networking.k8s.io" "v1" "networkpolicies" "networkpolicy" "NetworkPolicy" true ["netpol"] [] ALL_VERBS, []),
    // policy/v1
    resource!("policy" "v1" "poddisruptionbudgets" "poddisruptionbudget" "PodDisruptionBudget" true ["pdb"] [] ALL_VERBS, [
        status("policy", "v1", "PodDisruptionBudget"),
    ]),
    // rbac.authorization.k8s.io/v1
    resource!("rbac.authorization.k8s.io" "v1" "clusterrolebindings" "clusterrolebinding" "ClusterRoleBinding" false [] [] ALL_VERBS, []),
    resource!("rbac.authorization.k8s.io" "v1" "clusterroles" "clusterrole" "ClusterRole" false [] [] ALL_VERBS, []),
    resource!("rbac.authorization.k8s.io" "v1" "rolebindings" "rolebinding" "RoleBinding" true [] [] ALL_VERBS, []),
    resource!("rbac.authorization.k8s.io" "v1" "roles" "role" "Role" true [] [] ALL_VERBS, []),
    // storage.k8s.io/v1
    resource!("storage.k8s.io" "v1" "csidrivers" "csidriver" "CSIDriver" false [] [] ALL_VERBS, []),
    resource!("storage.k8s.io" "v1" "csinodes" "csinode" "CSINode" false [] [] ALL_VERBS, []),
    resource!("storage.k8s.io" "v1" "csistoragecapacities" "csistoragecapacity" "CSIStorageCapacity" true [] [] ALL_VERBS, []),
    resource!("storage.k8s.io" "v1" "storageclasses" "storageclass" "StorageClass" false ["sc"] [] ALL_VERBS, []),
    resource!("storage.k8s.io" "v1" "volumeattachments" "volumeattachment" "VolumeAttachment" false [] [] ALL_VERBS, [
        status("storage.k8s.io", "v1", "VolumeAttachment"),
    ]),
    // apiextensions.k8s.io/v1
    resource!("apiextensions.k8s.io" "v1" "customresourcedefinitions" "customresourcedefinition" "CustomResourceDefinition" false ["crd", "crds"] ["api-extensions"] ALL_VERBS, [
        status("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
    ]),
    // scheduling.k8s.io/v1
    resource!("scheduling.k8s.io" "v1" "priorityclasses" "priorityclass" "PriorityClass" false ["pc"] [] ALL_VERBS, []),
    // coordination.k8s.io/v1
    resource!("coordination.k8s.io" "v1" "leases" "lease" "Lease" true [] [] ALL_VERBS, []),
    // discovery.k8s.io/v1
    resource!("discovery.k8s.io" "v1" "endpointslices" "endpointslice" "EndpointSlice" true [] [] ALL_VERBS, []),
];

/// API groups (empty = core) in discovery order: kube-apiserver's group priorities, highest first.
pub static GROUP_ORDER: &[&str] = &[
    "",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
];

/// The row for a group/version/plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The served versions of a group, preferred first (in table order).
pub fn versions(group: &str) -> Vec<&'static str> {
    let mut versions: Vec<&'static str> = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group) {
        if !versions.contains(&r.version) {
            versions.push(r.version);
        }
    }
    versions
}

/// The rows of one group/version, in table order.
pub fn in_group_version<'a>(group: &'a str, version: &'a str) -> impl Iterator<Item = &'static ResourceInfo> + 'a {
    RESOURCES.iter().filter(move |r| r.group == group && r.version == version)
}

#[cfg(test)]
mod tests {
    use std::any::TypeId;
    use std::collections::HashSet;

    use k8s_openapi::api::{
        apps, authentication, authorization, autoscaling, batch, coordination, core, discovery, events, networking,
        policy, rbac, scheduling, storage,
    };
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
    use k8s_openapi::{NamespaceResourceScope, Resource};

    use super::*;

    /// Checks our row for `T` against k8s-openapi's metadata; returns the row's key.
    fn check<T: Resource>() -> (&'static str, &'static str, &'static str)
    where
        T::Scope: 'static,
    {
        let row = find(T::GROUP, T::VERSION, T::URL_PATH_SEGMENT)
            .unwrap_or_else(|| panic!("no row for {}/{}", T::API_VERSION, T::URL_PATH_SEGMENT));
        assert_eq!(row.kind, T::KIND, "{}", row.plural);
        let namespaced = TypeId::of::<T::Scope>() == TypeId::of::<NamespaceResourceScope>();
        assert_eq!(row.namespaced, namespaced, "scope of {}", row.plural);
        assert_eq!(row.api_version(), T::API_VERSION);
        (row.group, row.version, row.plural)
    }

    #[test]
    fn every_row_agrees_with_k8s_openapi() {
        let checked: HashSet<_> = [
            check::<core::v1::Binding>(),
            check::<core::v1::ComponentStatus>(),
            check::<core::v1::ConfigMap>(),
            check::<core::v1::Endpoints>(),
            check::<core::v1::Event>(),
            check::<core::v1::LimitRange>(),
            check::<core::v1::Namespace>(),
            check::<core::v1::Node>(),
            check::<core::v1::PersistentVolumeClaim>(),
            check::<core::v1::PersistentVolume>(),
            check::<core::v1::Pod>(),
            check::<core::v1::PodTemplate>(),
            check::<core::v1::ReplicationController>(),
            check::<core::v1::ResourceQuota>(),
            check::<core::v1::Secret>(),
            check::<core::v1::ServiceAccount>(),
            check::<core::v1::Service>(),
            check::<apps::v1::ControllerRevision>(),
            check::<apps::v1::DaemonSet>(),
            check::<apps::v1::Deployment>(),
            check::<apps::v1::ReplicaSet>(),
            check::<apps::v1::StatefulSet>(),
            check::<events::v1::Event>(),
            check::<authentication::v1::SelfSubjectReview>(),
            check::<authentication::v1::TokenReview>(),
            check::<authorization::v1::LocalSubjectAccessReview>(),
            check::<authorization::v1::SelfSubjectAccessReview>(),
            check::<authorization::v1::SelfSubjectRulesReview>(),
            check::<authorization::v1::SubjectAccessReview>(),
            check::<autoscaling::v2::HorizontalPodAutoscaler>(),
            check::<autoscaling::v1::HorizontalPodAutoscaler>(),
            check::<batch::v1::CronJob>(),
            check::<batch::v1::Job>(),
            check::<networking::v1::IngressClass>(),
            check::<networking::v1::Ingress>(),
            check::<networking::v1::NetworkPolicy>(),
            check::<policy::v1::PodDisruptionBudget>(),
            check::<rbac::v1::ClusterRoleBinding>(),
            check::<rbac::v1::ClusterRole>(),
            check::<rbac::v1::RoleBinding>(),
            check::<rbac::v1::Role>(),
            check::<storage::v1::CSIDriver>(),
            check::<storage::v1::CSINode>(),
            check::<storage::v1::CSIStorageCapacity>(),
            check::<storage::v1::StorageClass>(),
            check::<storage::v1::VolumeAttachment>(),
            check::<apiextensions::v1::CustomResourceDefinition>(),
            check::<scheduling::v1::PriorityClass>(),
            check::<coordination::v1::Lease>(),
            check::<discovery::v1::EndpointSlice>(),
        ]
        .into_iter()
        .collect();
        assert_eq!(checked.len(), RESOURCES.len(), "every row is checked against a generated type");
    }

    #[test]
    fn names_are_unique_and_singulars_are_lowercase_kinds() {
        let mut keys = HashSet::new();
        let mut short_names = HashSet::new();
        for r in RESOURCES {
            assert!(keys.insert((r.group, r.version, r.plural)), "duplicate row {}", r.plural);
            assert_eq!(r.singular, r.kind.to_lowercase(), "singular of {}", r.kind);
            // The same short name may only name the same resource in another group/version.
            for short in r.short_names {
                assert!(short_names.insert((*short, r.group, r.version)), "short name {short} reused");
            }
            assert!(GROUP_ORDER.contains(&r.group), "group {:?} missing from GROUP_ORDER", r.group);
        }
    }

    #[test]
    fn kubectl_get_all_covers_upstreams_category() {
        let mut all: Vec<&str> = RESOURCES.iter().filter(|r| r.categories.contains(&"all")).map(|r| r.plural).collect();
        all.sort();
        all.dedup();
        assert_eq!(
            all,
            [
                "cronjobs",
                "daemonsets",
                "deployments",
                "horizontalpodautoscalers",
                "jobs",
                "pods",
                "replicasets",
                "replicationcontrollers",
                "services",
                "statefulsets"
            ]
        );
    }

    #[test]
    fn lookups() {
        assert_eq!(versions("autoscaling"), vec!["v2", "v1"]);
        let deployments = find("apps", "v1", "deployments").unwrap();
        assert!(deployments.serves(Verb::DeleteCollection));
        assert_eq!(deployments.subresource("scale").unwrap().kind, "Scale");
        assert!(!find("", "v1", "namespaces").unwrap().serves(Verb::DeleteCollection));
        assert_eq!(in_group_version("batch", "v1").count(), 2);
        assert!(find("apps", "v1beta1", "deployments").is_none());
    }
}
