//! The scale of the controllers of a budget's pods (upstream `getExpectedScale`), from the
//! shared caches: each controller counted once, a ReplicaSet owned by a Deployment counted as
//! the Deployment.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::owners;

/// The caches of the controllers that have a scale.
#[derive(Debug)]
pub struct Controllers {
    pub deployments: Store<Deployment>,
    pub replica_sets: Store<ReplicaSet>,
    pub stateful_sets: Store<StatefulSet>,
    pub replication_controllers: Store<ReplicationController>,
}

/// Expected pods, and how many selected pods have no controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scale {
    pub total: i32,
    pub unmanaged: usize,
}

/// A controller found in a cache: its uid (for counting it once) and replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub uid: String,
    pub replicas: i32,
}

/// Sums the scale of the pods' controllers: `find` resolves a controller reference to the
/// controller that decides the scale (`None` when it has no scale we know of: its pods then
/// count as themselves).
pub fn sum_scales<'a>(pods: impl Iterator<Item = &'a Pod>, find: impl Fn(&OwnerReference) -> Option<Found>) -> Scale {
    let mut counted: BTreeSet<String> = BTreeSet::new();
    let mut scale = Scale::default();
    let mut pods_without_scale: BTreeMap<String, i32> = BTreeMap::new();
    for pod in pods {
        let Some(controller) = owners::controller_of(&pod.metadata) else {
            scale.unmanaged += 1;
            continue;
        };
        match find(controller) {
            Some(found) => {
                if counted.insert(found.uid) {
                    scale.total = scale.total.saturating_add(found.replicas);
                }
            }
            None => *pods_without_scale.entry(controller.uid.clone()).or_default() += 1,
        }
    }
    scale.total = pods_without_scale.values().fold(scale.total, |sum, n| sum.saturating_add(*n));
    scale
}

fn found<K: kube::Resource>(obj: &K, reference: &OwnerReference, replicas: Option<i32>) -> Option<Found> {
    (obj.meta().uid.as_deref() == Some(reference.uid.as_str()) || reference.uid.is_empty())
        .then(|| Found { uid: obj.uid().unwrap_or_default(), replicas: replicas.unwrap_or(1) })
}

impl Controllers {
    /// The expected scale of `pods` in `namespace`.
    pub fn expected_scale<'a>(&self, namespace: &str, pods: impl Iterator<Item = &'a Pod>) -> Scale {
        sum_scales(pods, |reference| self.find(namespace, reference))
    }

    fn find(&self, namespace: &str, reference: &OwnerReference) -> Option<Found> {
        let key = |name: &str| (name.to_string(), namespace.to_string());
        match (reference.api_version.as_str(), reference.kind.as_str()) {
            ("apps/v1", "ReplicaSet") => {
                let (name, ns) = key(&reference.name);
                let rs = self.replica_sets.get(&ObjectRef::new(&name).within(&ns))?;
                let rs_found = found(rs.as_ref(), reference, rs.spec.as_ref().and_then(|s| s.replicas))?;
                // A Deployment's ReplicaSets share its scale.
                match owners::controller_of(&rs.metadata).filter(|o| o.kind == "Deployment") {
                    Some(owner) => {
                        let deployment = self.deployments.get(&ObjectRef::new(&owner.name).within(&ns))?;
                        found(deployment.as_ref(), owner, deployment.spec.as_ref().and_then(|s| s.replicas))
                    }
                    None => Some(rs_found),
                }
            }
            ("apps/v1", "StatefulSet") => {
                let sts = self.stateful_sets.get(&ObjectRef::new(&reference.name).within(namespace))?;
                found(sts.as_ref(), reference, sts.spec.as_ref().and_then(|s| s.replicas))
            }
            ("v1", "ReplicationController") => {
                let rc = self.replication_controllers.get(&ObjectRef::new(&reference.name).within(namespace))?;
                found(rc.as_ref(), reference, rc.spec.as_ref().and_then(|s| s.replicas))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, owner: Option<(&str, &str)>) -> Pod {
        let owners = owner.map(
            |(kind, uid)| json!([{"apiVersion": "apps/v1", "kind": kind, "name": uid, "uid": uid, "controller": true}]),
        );
        serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": owners}})).unwrap()
    }

    #[test]
    fn each_controller_counts_once_and_unknown_ones_count_their_pods() {
        let pods = [
            pod("a", Some(("ReplicaSet", "rs1"))),
            pod("b", Some(("ReplicaSet", "rs1"))),
            pod("c", Some(("ReplicaSet", "rs2"))),
            pod("d", Some(("DaemonSet", "ds"))),
            pod("e", Some(("DaemonSet", "ds"))),
            pod("f", None),
        ];
        // rs1 and rs2 belong to one Deployment of 5 replicas.
        let scale = sum_scales(pods.iter(), |r| match r.kind.as_str() {
            "ReplicaSet" => Some(Found { uid: "deploy".into(), replicas: 5 }),
            _ => None,
        });
        assert_eq!(scale, Scale { total: 7, unmanaged: 1 });
    }
}
