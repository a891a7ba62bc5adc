//! The garbage collector's view of the cluster: every object's owners, the reverse index
//! (owner → dependents), and the pure decision of what to do with one object, as upstream's
//! `attemptToDeleteItem`, `processDeletingDependentsItem` and orphaning.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::discovery::ApiResource;

pub const ORPHAN: &str = "orphan";
pub const FOREGROUND: &str = "foregroundDeletion";

/// One object as the collector knows it.
#[derive(Debug, Clone)]
pub struct Node {
    pub resource: Arc<ApiResource>,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    pub owners: Vec<OwnerReference>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

impl Node {
    fn has_finalizer(&self, finalizer: &str) -> bool {
        self.finalizers.iter().any(|f| f == finalizer)
    }
}

/// What an owner reference points at, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    /// Exists and is not waiting for its dependents.
    Solid,
    /// Being deleted in the foreground: its dependents go first.
    WaitingForDependents,
    /// Gone (or a different object now carries the name).
    Absent,
}

/// What to do with one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    /// Delete it, with this propagation policy.
    Delete {
        foreground: bool,
    },
    /// Drop these owner references (by uid); the object stays.
    DropOwners(Vec<String>),
    /// Orphan: drop the reference to `owner` from each of these dependents, then remove the
    /// owner's `orphan` finalizer.
    Orphan {
        dependents: Vec<String>,
    },
    /// Foreground deletion: delete these dependents; when none block any more, remove the
    /// owner's `foregroundDeletion` finalizer.
    DeleteDependents {
        dependents: Vec<String>,
        done: bool,
    },
}

/// The dependency graph.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    pub fn get(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The uids of one resource type's objects.
    pub fn uids_of<'a>(&'a self, group: &'a str, plural: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.nodes.values().filter(move |n| n.resource.group == group && n.resource.plural == plural).map(|n| &n.uid)
    }

    pub fn dependents_of(&self, uid: &str) -> impl Iterator<Item = &Node> {
        self.dependents.get(uid).into_iter().flatten().filter_map(|d| self.nodes.get(d))
    }

    /// Records an object; returns the uids worth a look now.
    pub fn upsert(&mut self, node: Node) -> Vec<String> {
        let uid = node.uid.clone();
        if let Some(old) = self.nodes.get(&uid) {
            for owner in &old.owners {
                if let Some(set) = self.dependents.get_mut(&owner.uid) {
                    set.remove(&uid);
                }
            }
        }
        let mut dirty = Vec::new();
        for owner in &node.owners {
            self.dependents.entry(owner.uid.clone()).or_default().insert(uid.clone());
            match self.nodes.get(&owner.uid) {
                // An owner we have not seen (or never will): check it.
                None => dirty.push(uid.clone()),
                Some(o) if o.deleting => {
                    dirty.push(uid.clone());
                    dirty.push(o.uid.clone());
                }
                Some(_) => {}
            }
        }
        if node.deleting && (node.has_finalizer(ORPHAN) || node.has_finalizer(FOREGROUND)) {
            dirty.push(uid.clone());
        }
        // Dependents that waited for this owner to appear.
        if self.dependents.get(&uid).is_some_and(|d| !d.is_empty()) && node.deleting {
            dirty.extend(self.dependents[&uid].iter().cloned());
        }
        self.nodes.insert(uid, node);
        dirty.sort();
        dirty.dedup();
        dirty
    }

    /// Forgets a deleted object; returns the uids worth a look now (its dependents, which
    /// may have lost their last owner, and its owners, which may wait for it).
    pub fn remove(&mut self, uid: &str) -> Vec<String> {
        let Some(node) = self.nodes.remove(uid) else { return Vec::new() };
        let mut dirty: Vec<String> = self.dependents.get(uid).into_iter().flatten().cloned().collect();
        if dirty.is_empty() {
            self.dependents.remove(uid);
        }
        for owner in &node.owners {
            if let Some(set) = self.dependents.get_mut(&owner.uid) {
                set.remove(uid);
                if set.is_empty() && !self.nodes.contains_key(&owner.uid) {
                    self.dependents.remove(&owner.uid);
                }
            }
            if self.nodes.get(&owner.uid).is_some_and(|o| o.deleting) {
                dirty.push(owner.uid.clone());
            }
        }
        dirty
    }

    /// What the graph alone says about an owner (`None`: not seen, check the API).
    pub fn owner_state(&self, owner: &OwnerReference) -> Option<OwnerState> {
        let node = self.nodes.get(&owner.uid)?;
        Some(if node.deleting && node.has_finalizer(FOREGROUND) {
            OwnerState::WaitingForDependents
        } else {
            OwnerState::Solid
        })
    }
}

/// The decision for object `uid`; `owner_states` gives the checked state of each of its
/// owners (by uid) for the plain case.
pub fn decide(graph: &Graph, uid: &str, owner_states: &HashMap<String, OwnerState>) -> Decision {
    let Some(node) = graph.get(uid) else { return Decision::Nothing };
    if node.deleting && node.has_finalizer(ORPHAN) {
        return Decision::Orphan { dependents: graph.dependents_of(uid).map(|d| d.uid.clone()).collect() };
    }
    if node.deleting && node.has_finalizer(FOREGROUND) {
        let dependents: Vec<&Node> = graph.dependents_of(uid).collect();
        let blocking =
            dependents.iter().any(|d| d.owners.iter().any(|o| o.uid == uid && o.block_owner_deletion == Some(true)));
        let to_delete = dependents.iter().filter(|d| !d.deleting).map(|d| d.uid.clone()).collect();
        return Decision::DeleteDependents { dependents: to_delete, done: !blocking };
    }
    if node.owners.is_empty() || node.deleting {
        return Decision::Nothing;
    }
    let state = |o: &OwnerReference| owner_states.get(&o.uid).copied().unwrap_or(OwnerState::Solid);
    let solid = node.owners.iter().any(|o| state(o) == OwnerState::Solid);
    let absent: Vec<String> =
        node.owners.iter().filter(|o| state(o) == OwnerState::Absent).map(|o| o.uid.clone()).collect();
    let waiting: Vec<String> =
        node.owners.iter().filter(|o| state(o) == OwnerState::WaitingForDependents).map(|o| o.uid.clone()).collect();
    if solid {
        if absent.is_empty() && waiting.is_empty() {
            return Decision::Nothing;
        }
        // Still owned: only the references to gone (or foreground-deleting) owners go.
        return Decision::DropOwners(absent.into_iter().chain(waiting).collect());
    }
    if !waiting.is_empty() {
        // An owner waits for us: go, and make our own dependents go first if we block it.
        let has_dependents = graph.dependents_of(uid).next().is_some();
        return Decision::Delete { foreground: has_dependents };
    }
    Decision::Delete { foreground: false }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource() -> Arc<ApiResource> {
        Arc::new(ApiResource {
            group: "".into(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "Pod".into(),
            plural: "pods".into(),
        })
    }

    fn owner(uid: &str, block: bool) -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: format!("rs-{uid}"),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(block),
        }
    }

    fn node(uid: &str, owners: Vec<OwnerReference>) -> Node {
        Node {
            resource: resource(),
            namespace: Some("default".into()),
            name: uid.into(),
            uid: uid.into(),
            owners,
            deleting: false,
            finalizers: Vec::new(),
        }
    }

    #[test]
    fn dependent_of_a_deleted_owner_is_deleted_in_the_background() {
        let mut graph = Graph::default();
        graph.upsert(node("rs", vec![]));
        assert!(graph.upsert(node("pod", vec![owner("rs", true)])).is_empty());
        assert_eq!(graph.remove("rs"), vec!["pod".to_string()]);
        let states = HashMap::from([("rs".to_string(), OwnerState::Absent)]);
        assert_eq!(decide(&graph, "pod", &states), Decision::Delete { foreground: false });
    }

    #[test]
    fn a_remaining_owner_keeps_the_dependent_and_only_the_dangling_reference_goes() {
        let mut graph = Graph::default();
        graph.upsert(node("pod", vec![owner("a", true), owner("b", false)]));
        let states = HashMap::from([("a".to_string(), OwnerState::Absent), ("b".to_string(), OwnerState::Solid)]);
        assert_eq!(decide(&graph, "pod", &states), Decision::DropOwners(vec!["a".into()]));
        let solid = HashMap::from([("a".to_string(), OwnerState::Solid), ("b".to_string(), OwnerState::Solid)]);
        assert_eq!(decide(&graph, "pod", &solid), Decision::Nothing);
    }

    #[test]
    fn foreground_owner_deletes_dependents_then_finishes_when_none_block() {
        let mut graph = Graph::default();
        graph.upsert(node("pod-1", vec![owner("rs", true)]));
        graph.upsert(node("pod-2", vec![owner("rs", false)]));
        let mut rs = node("rs", vec![]);
        rs.deleting = true;
        rs.finalizers = vec![FOREGROUND.into()];
        let dirty = graph.upsert(rs);
        assert!(dirty.contains(&"rs".to_string()));
        match decide(&graph, "rs", &HashMap::new()) {
            Decision::DeleteDependents { mut dependents, done } => {
                dependents.sort();
                assert_eq!(dependents, ["pod-1", "pod-2"]);
                assert!(!done, "pod-1 blocks its owner's deletion");
            }
            other => panic!("{other:?}"),
        }
        // The blocking dependent is gone: the owner re-checks and may finish.
        assert!(graph.remove("pod-1").contains(&"rs".to_string()));
        assert_eq!(
            decide(&graph, "rs", &HashMap::new()),
            Decision::DeleteDependents { dependents: vec!["pod-2".into()], done: true }
        );
    }

    #[test]
    fn a_dependent_of_a_foreground_owner_goes_in_the_foreground_if_it_has_dependents() {
        let mut graph = Graph::default();
        graph.upsert(node("rs", vec![owner("deploy", true)]));
        graph.upsert(node("pod", vec![owner("rs", true)]));
        let states = HashMap::from([("deploy".to_string(), OwnerState::WaitingForDependents)]);
        assert_eq!(decide(&graph, "rs", &states), Decision::Delete { foreground: true });
        let pod_states = HashMap::from([("rs".to_string(), OwnerState::WaitingForDependents)]);
        assert_eq!(decide(&graph, "pod", &pod_states), Decision::Delete { foreground: false });
    }

    #[test]
    fn orphaning_lists_every_dependent() {
        let mut graph = Graph::default();
        graph.upsert(node("pod", vec![owner("rs", true)]));
        let mut rs = node("rs", vec![]);
        rs.deleting = true;
        rs.finalizers = vec![ORPHAN.into()];
        graph.upsert(rs);
        assert_eq!(decide(&graph, "rs", &HashMap::new()), Decision::Orphan { dependents: vec!["pod".into()] });
    }

    #[test]
    fn owner_cycles_do_not_loop_the_graph() {
        let mut graph = Graph::default();
        graph.upsert(node("a", vec![owner("b", true)]));
        graph.upsert(node("b", vec![owner("a", true)]));
        assert_eq!(graph.owner_state(&owner("a", true)), Some(OwnerState::Solid));
        assert!(graph.remove("a").contains(&"b".to_string()));
        let states = HashMap::from([("a".to_string(), OwnerState::Absent)]);
        assert_eq!(decide(&graph, "b", &states), Decision::Delete { foreground: false });
        assert_eq!(graph.len(), 1);
    }
}
