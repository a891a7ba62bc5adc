//! The garbage collector: deletes objects whose owners are gone (background propagation),
//! deletes the dependents of an owner deleted in the foreground before letting it go
//! (`foregroundDeletion` finalizer), and orphans the dependents of an owner deleted with
//! `orphan` (drops their references, then the finalizer). It watches the metadata of every
//! deletable resource type found by discovery (one cache of uids and owner references,
//! not whole objects) and checks an owner it has not seen against the API before acting,
//! so a lagging cache never deletes a live object's dependents.

mod graph;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::PartialObjectMeta;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::discovery::{ApiResource, Discovery, Scope, verbs};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio::sync::mpsc;

use self::graph::{Decision, Graph, Node, OwnerState};
use crate::{Context, Error};

/// How often discovery is re-run to pick up new resource types (CRDs).
const REDISCOVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
enum Change {
    Upsert(Node),
    Remove(String),
    /// A relist of one resource type finished: uids of that type not in `seen` are gone.
    Relisted {
        plural: String,
        group: String,
        seen: HashSet<String>,
    },
}

/// Resource types by (apiVersion, kind), for owner lookups; `true` when namespaced.
type Kinds = HashMap<(String, String), (Arc<ApiResource>, bool)>;

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let client = ctx.client.clone();
    let (changes, mut incoming) = mpsc::channel::<Change>(4096);
    let mut kinds = Kinds::new();
    let mut watched: HashSet<(String, String)> = HashSet::new();
    let mut watchers = Vec::new();
    let mut rediscover = tokio::time::interval(REDISCOVERY);
    let mut graph = Graph::default();
    let mut dirty: VecDeque<String> = VecDeque::new();
    let mut queued: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = rediscover.tick() => {
                match Discovery::new(client.clone()).run().await {
                    Ok(discovery) => {
                        for (resource, namespaced, watch) in deletable_resources(&discovery) {
                            let key = (resource.group.clone(), resource.plural.clone());
                            kinds.insert((resource.api_version.clone(), resource.kind.clone()), (resource.clone(), namespaced));
                            if watch && watched.insert(key) {
                                watchers.push(crate::AbortOnDrop(tokio::spawn(watch_metadata(client.clone(), resource, changes.clone())).abort_handle()));
                            }
                        }
                    }
                    Err(err) => tracing::warn!(%err, "garbage collector: discovery failed"),
                }
            }
            Some(change) = incoming.recv() => {
                let found = match change {
                    Change::Upsert(node) => graph.upsert(node),
                    Change::Remove(uid) => graph.remove(&uid),
                    Change::Relisted { plural, group, seen } => {
                        let gone: Vec<String> = graph.uids_of(&group, &plural).filter(|u| !seen.contains(*u)).cloned().collect();
                        gone.iter().flat_map(|uid| graph.remove(uid)).collect()
                    }
                };
                enqueue(found, &mut dirty, &mut queued);
            }
            Some(uid) = async { dirty.pop_front() }, if !dirty.is_empty() => {
                queued.remove(&uid);
                if let Err(err) = process(&client, &graph, &kinds, &uid).await {
                    tracing::debug!(%uid, %err, "garbage collector: will retry");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    enqueue(vec![uid], &mut dirty, &mut queued);
                }
            }
        }
    }
}

fn enqueue(uids: Vec<String>, dirty: &mut VecDeque<String>, queued: &mut HashSet<String>) {
    for uid in uids {
        if queued.insert(uid.clone()) {
            dirty.push_back(uid);
        }
    }
}

/// Every type the collector watches: listable, watchable and deletable, except events
/// (never owners, many, and short-lived). The bool says whether to watch it (all versions
/// are known for lookups, the preferred one is watched).
fn deletable_resources(discovery: &Discovery) -> Vec<(Arc<ApiResource>, bool, bool)> {
    let mut found = Vec::new();
    for group in discovery.groups() {
        let preferred = group.preferred_version_or_latest().to_string();
        for version in group.versions() {
            for (resource, caps) in group.versioned_resources(version) {
                let usable =
                    [verbs::LIST, verbs::WATCH, verbs::DELETE, verbs::PATCH].iter().all(|v| caps.supports_operation(v));
                if !usable || resource.plural == "events" {
                    continue;
                }
                let namespaced = caps.scope == Scope::Namespaced;
                found.push((Arc::new(resource), namespaced, version == preferred));
            }
        }
    }
    found
}

async fn watch_metadata(client: Client, resource: Arc<ApiResource>, changes: mpsc::Sender<Change>) {
    let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client, resource.as_ref());
    let mut events = watcher::watcher(api, watcher::Config::default()).default_backoff().boxed();
    let mut seen = HashSet::new();
    loop {
        let event = match events.try_next().await {
            Ok(Some(event)) => event,
            Ok(None) => return,
            Err(err) => {
                tracing::debug!(resource = resource.plural, %err, "garbage collector watch failed; retrying");
                continue;
            }
        };
        let change = match event {
            Event::Apply(meta) => Change::Upsert(node_of(&resource, meta.metadata)),
            Event::Delete(meta) => Change::Remove(meta.metadata.uid.unwrap_or_default()),
            Event::Init => {
                seen.clear();
                continue;
            }
            Event::InitApply(meta) => {
                seen.insert(meta.metadata.uid.clone().unwrap_or_default());
                Change::Upsert(node_of(&resource, meta.metadata))
            }
            Event::InitDone => Change::Relisted {
                plural: resource.plural.clone(),
                group: resource.group.clone(),
                seen: std::mem::take(&mut seen),
            },
        };
        if changes.send(change).await.is_err() {
            return;
        }
    }
}

fn node_of(resource: &Arc<ApiResource>, meta: kube::api::ObjectMeta) -> Node {
    Node {
        resource: resource.clone(),
        namespace: meta.namespace,
        name: meta.name.unwrap_or_default(),
        uid: meta.uid.unwrap_or_default(),
        owners: meta.owner_references.unwrap_or_default(),
        deleting: meta.deletion_timestamp.is_some(),
        finalizers: meta.finalizers.unwrap_or_default(),
    }
}

/// Looks at one object and acts on the decision.
async fn process(client: &Client, graph: &Graph, kinds: &Kinds, uid: &str) -> Result<(), Error> {
    let Some(node) = graph.get(uid) else { return Ok(()) };
    // Owners the graph does not know (or knows as present) are checked against the API when
    // the object would otherwise be deleted: a cache can lag, a live read cannot.
    let mut states = HashMap::new();
    if !node.deleting {
        for owner in &node.owners {
            let state = match graph.owner_state(owner) {
                Some(state) => state,
                None => live_owner_state(client, kinds, node, owner).await?,
            };
            states.insert(owner.uid.clone(), state);
        }
    }
    match graph::decide(graph, uid, &states) {
        Decision::Nothing => Ok(()),
        Decision::Delete { foreground } => delete(client, node, foreground).await,
        Decision::DropOwners(owners) => drop_owner_refs(client, node, &owners).await,
        Decision::Orphan { dependents } => {
            for dependent in dependents.iter().filter_map(|d| graph.get(d)) {
                drop_owner_refs(client, dependent, &[uid.to_string()]).await?;
            }
            remove_finalizer(client, node, graph::ORPHAN).await
        }
        Decision::DeleteDependents { dependents, done } => {
            let targets: Vec<&Node> = dependents.iter().filter_map(|d| graph.get(d)).collect();
            let mut results = Vec::with_capacity(targets.len());
            for batch in targets.chunks(16) {
                let work = batch.iter().map(|dependent| remove_dependent(client, graph, uid, dependent));
                results.extend(futures::future::join_all(work).await);
            }
            results.into_iter().collect::<Result<(), Error>>()?;
            if done { remove_finalizer(client, node, graph::FOREGROUND).await } else { Ok(()) }
        }
    }
}

/// A dependent of an owner deleted in the foreground: deleted (its own dependents first if
/// it has any), or only unlinked when another owner still holds it.
async fn remove_dependent(client: &Client, graph: &Graph, owner: &str, dependent: &Node) -> Result<(), Error> {
    let other_owner_alive =
        dependent.owners.iter().any(|o| o.uid != owner && graph.owner_state(o) == Some(OwnerState::Solid));
    if other_owner_alive {
        drop_owner_refs(client, dependent, &[owner.to_string()]).await
    } else {
        let has_dependents = graph.dependents_of(&dependent.uid).next().is_some();
        delete(client, dependent, has_dependents).await
    }
}

fn api_for(client: &Client, resource: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    }
}

async fn live_owner_state(
    client: &Client,
    kinds: &Kinds,
    node: &Node,
    owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
) -> Result<OwnerState, Error> {
    let Some((resource, namespaced)) = kinds.get(&(owner.api_version.clone(), owner.kind.clone())) else {
        // An owner of a type the server does not serve cannot exist (upstream treats it so
        // only after discovery confirms; we have just run it).
        return Ok(OwnerState::Absent);
    };
    let namespace = if *namespaced { node.namespace.as_deref() } else { None };
    if *namespaced && namespace.is_none() {
        // A cluster-scoped dependent cannot have a namespaced owner.
        return Ok(OwnerState::Absent);
    }
    match api_for(client, resource, namespace).get_metadata_opt(&owner.name).await? {
        Some(found) if found.uid().as_deref() == Some(owner.uid.as_str()) => {
            let foreground = found.finalizers().iter().any(|f| f == graph::FOREGROUND);
            Ok(if found.metadata.deletion_timestamp.is_some() && foreground {
                OwnerState::WaitingForDependents
            } else {
                OwnerState::Solid
            })
        }
        _ => Ok(OwnerState::Absent),
    }
}

async fn delete(client: &Client, node: &Node, foreground: bool) -> Result<(), Error> {
    let params = DeleteParams {
        propagation_policy: Some(if foreground {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        }),
        preconditions: Some(Preconditions { uid: Some(node.uid.clone()), resource_version: None }),
        ..DeleteParams::default()
    };
    tracing::debug!(kind = node.resource.kind, name = node.name, foreground, "garbage collector deletes");
    match api_for(client, &node.resource, node.namespace.as_deref()).delete(&node.name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Drops the owner references with these uids (read-modify-write with the object's
/// resourceVersion: a concurrent change makes it retry, never lose the change).
async fn drop_owner_refs(client: &Client, node: &Node, owners: &[String]) -> Result<(), Error> {
    let api = api_for(client, &node.resource, node.namespace.as_deref());
    let Some(current) = api.get_metadata_opt(&node.name).await? else { return Ok(()) };
    if current.uid().as_deref() != Some(node.uid.as_str()) {
        return Ok(());
    }
    let kept: Vec<_> = current.owner_references().iter().filter(|o| !owners.contains(&o.uid)).cloned().collect();
    if kept.len() == current.owner_references().len() {
        return Ok(());
    }
    let patch = json!({"metadata": {"ownerReferences": kept, "resourceVersion": current.resource_version()}});
    api.patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}

async fn remove_finalizer(client: &Client, node: &Node, finalizer: &str) -> Result<(), Error> {
    let api = api_for(client, &node.resource, node.namespace.as_deref());
    let Some(current) = api.get_metadata_opt(&node.name).await? else { return Ok(()) };
    if current.uid().as_deref() != Some(node.uid.as_str()) || !current.finalizers().iter().any(|f| f == finalizer) {
        return Ok(());
    }
    let kept: Vec<&String> = current.finalizers().iter().filter(|f| *f != finalizer).collect();
    let patch = json!({"metadata": {"finalizers": kept, "resourceVersion": current.resource_version()}});
    api.patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}
