//! The ReplicaSet and ReplicationController controllers (upstream `pkg/controller/replicaset`,
//! which serves both kinds): keep `spec.replicas` active pods matching the selector.
//!
//! One sync of an owner: claim the namespace's active pods (adopt matching orphans, release
//! ours that no longer match, [`claim`]), create or delete the difference when the previous
//! round has been observed ([`expectations`]): creates in slow-start batches, deletes in
//! [`pods::pods_to_delete`] order, and write the status ([`decide`]).

pub mod claim;
pub mod decide;
pub mod expectations;
pub mod index;
pub mod pods;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use serde::Serialize;

use crate::events::Recorder;
use crate::informers::Informable;
use crate::{Context, Error, owners, selectors};
use decide::{Failure, ReplicaStatus, Scale};
use expectations::{Expectations, Seen};
use index::NamespaceIndex;

/// Creates or deletes in flight at once within one sync.
const CALLS_IN_FLIGHT: usize = 64;
/// How soon an owner whose expectations are pending looks again (events usually come first).
const PENDING_RECHECK: Duration = Duration::from_secs(30);

/// A kind that keeps a number of pod replicas (ReplicaSet, ReplicationController).
pub trait Replicated: Informable + Serialize + Resource<Scope = NamespaceResourceScope> {
    /// The component its events are reported by.
    const COMPONENT: &'static str;
    fn desired(&self) -> i32;
    fn min_ready_seconds(&self) -> i32;
    fn selector(&self) -> Option<LabelSelector>;
    fn template(&self) -> Option<&PodTemplateSpec>;
}

impl Replicated for ReplicaSet {
    const COMPONENT: &'static str = "replicaset-controller";
    fn desired(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }
    fn min_ready_seconds(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0)
    }
    fn selector(&self) -> Option<LabelSelector> {
        self.spec.as_ref().map(|s| s.selector.clone())
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().and_then(|s| s.template.as_ref())
    }
}

impl Replicated for ReplicationController {
    const COMPONENT: &'static str = "replication-controller";
    fn desired(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
    }
    fn min_ready_seconds(&self) -> i32 {
        self.spec.as_ref().and_then(|s| s.min_ready_seconds).unwrap_or(0)
    }
    fn selector(&self) -> Option<LabelSelector> {
        let spec = self.spec.as_ref()?;
        // A missing selector means the template's labels (upstream defaulting).
        let labels: Option<BTreeMap<String, String>> = spec
            .selector
            .clone()
            .or_else(|| spec.template.as_ref().and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone()));
        labels.map(|l| LabelSelector { match_labels: Some(l), match_expressions: None })
    }
    fn template(&self) -> Option<&PodTemplateSpec> {
        self.spec.as_ref().and_then(|s| s.template.as_ref())
    }
}

/// Runs the ReplicaSet and the ReplicationController controllers.
pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    tokio::try_join!(run_kind::<ReplicaSet>(ctx.clone()), run_kind::<ReplicationController>(ctx))?;
    Ok(())
}

/// What the syncs of one kind share.
struct Shared<K: Replicated> {
    ctx: Arc<Context>,
    owners: Arc<NamespaceIndex<K>>,
    pods: Arc<NamespaceIndex<Pod>>,
    expectations: Arc<Expectations>,
    recorder: Recorder,
}

async fn run_kind<K: Replicated>(ctx: Arc<Context>) -> Result<(), Error> {
    let owner_informer = ctx.informers.get::<K>();
    let pod_informer = ctx.informers.get::<Pod>();
    let shared = Arc::new(Shared {
        owners: Arc::new(NamespaceIndex::new(owner_informer.store())),
        pods: Arc::new(NamespaceIndex::new(pod_informer.store())),
        expectations: Arc::new(Expectations::default()),
        recorder: ctx.events.recorder(K::COMPONENT),
        ctx: ctx.clone(),
    });

    let (owner_index, expectations) = (shared.owners.clone(), shared.expectations.clone());
    let owner_changes = owner_informer.subscribe().inspect(move |owner| {
        if !owner_index.observe(owner) {
            expectations.forget(&owner.uid().unwrap_or_default());
        }
    });
    let (pod_index, expectations) = (shared.pods.clone(), shared.expectations.clone());
    let pod_changes = pod_informer.subscribe().inspect(move |pod| {
        let cached = pod_index.observe(pod);
        if let Some(owner) = owners::controller_of(&pod.metadata) {
            let seen =
                if cached && pod.metadata.deletion_timestamp.is_none() { Seen::Present } else { Seen::DeletingOrGone };
            expectations.observe(&owner.uid, &pod.name_any(), seen);
        }
    });
    let owners_for_pods = shared.owners.clone();

    Controller::for_shared_stream(owner_changes, owner_informer.store())
        .watches_shared_stream(pod_changes, move |pod| owners_of_pod::<K>(&pod, &owners_for_pods))
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile::<K>, error_policy::<K>, shared)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(kind = K::kind(&()).as_ref(), %err, "replica sync failed");
            }
        })
        .await;
    Ok(())
}

/// The owners to sync when a pod changes: its controller, or for an orphan every owner whose
/// selector matches it (they may adopt it).
fn owners_of_pod<K: Replicated>(pod: &Pod, owners: &NamespaceIndex<K>) -> Vec<ObjectRef<K>> {
    let namespace = pod.namespace().unwrap_or_default();
    if let Some(owner) = owners::controller_of(&pod.metadata) {
        let ours = owner.kind == K::kind(&()) && owner.api_version == K::api_version(&());
        return if ours { vec![ObjectRef::new(&owner.name).within(&namespace)] } else { Vec::new() };
    }
    if !pods::is_active(pod) {
        return Vec::new();
    }
    owners
        .list(&namespace)
        .iter()
        .filter(|o| {
            o.selector()
                .is_some_and(|s| !selectors::is_empty(&s) && selectors::matches(Some(&s), pod.metadata.labels.as_ref()))
        })
        .map(|o| ObjectRef::from_obj(o.as_ref()))
        .collect()
}

fn error_policy<K: Replicated>(_obj: Arc<K>, err: &Error, _shared: Arc<Shared<K>>) -> Action {
    tracing::debug!(%err, "requeueing after a failed sync");
    Action::requeue(Duration::from_secs(2))
}

async fn reconcile<K: Replicated>(owner: Arc<K>, shared: Arc<Shared<K>>) -> Result<Action, Error> {
    let namespace = owner.namespace().unwrap_or_default();
    let uid = owner.uid().unwrap_or_default();
    let Some(selector) = owner.selector().filter(|s| !selectors::is_empty(s)) else {
        return Ok(Action::await_change());
    };
    let may_act = shared.expectations.satisfied(&uid, Instant::now());

    let candidates: Vec<Arc<Pod>> = shared.pods.list(&namespace).into_iter().filter(|p| pods::is_active(p)).collect();
    let claimed = claim::claim_pods(&shared.ctx.client, owner.as_ref(), &selector, &candidates).await?;
    let active: Vec<&Pod> = claimed.iter().map(Arc::as_ref).collect();

    let failure = if may_act && owner.meta().deletion_timestamp.is_none() {
        manage_replicas(&shared, owner.as_ref(), &active, &namespace).await
    } else {
        None
    };

    let now = Timestamp::now();
    let min_ready = owner.min_ready_seconds();
    let counts = decide::count(
        &active,
        owner.template().and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.as_ref()),
        min_ready,
        now,
    );
    let current: ReplicaStatus = serde_json::to_value(owner.as_ref())
        .ok()
        .and_then(|v| v.get("status").cloned())
        .and_then(|s| serde_json::from_value(s).ok())
        .unwrap_or_default();
    let next = decide::next_status(&current, counts, owner.meta().generation.unwrap_or(0), failure.clone(), now);
    if next != current {
        let api: Api<K> = Api::namespaced(shared.ctx.client.clone(), &namespace);
        let patch = serde_json::json!({ "status": next });
        api.patch_status(&owner.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    if let Some(failure) = failure {
        return Err(Error::Invalid(failure.message));
    }
    // Pods that are ready but not yet available become available without any event.
    let soonest = active.iter().filter_map(|p| pods::seconds_until_available(p, min_ready, now)).min();
    if let Some(seconds) = soonest {
        return Ok(Action::requeue(Duration::from_secs(u64::try_from(seconds).unwrap_or(1).max(1))));
    }
    if !shared.expectations.satisfied(&uid, Instant::now()) {
        return Ok(Action::requeue(PENDING_RECHECK));
    }
    Ok(Action::await_change())
}

/// Creates or deletes pods towards `spec.replicas`; the failure, if any, for the status.
async fn manage_replicas<K: Replicated>(
    shared: &Shared<K>,
    owner: &K,
    active: &[&Pod],
    namespace: &str,
) -> Option<Failure> {
    let uid = owner.uid().unwrap_or_default();
    match decide::scale(active.len(), owner.desired()) {
        Scale::Nothing => None,
        Scale::Create(count) => {
            let template = owner.template()?;
            shared.expectations.reset(&uid, Instant::now());
            create_pods(shared, owner, template, namespace, count).await.err()
        }
        Scale::Delete(count) => {
            let related = related_pods(shared, owner, namespace);
            let related: Vec<&Pod> = related.iter().map(Arc::as_ref).collect();
            let victims = pods::pods_to_delete(active, &related, count);
            shared.expectations.reset(&uid, Instant::now());
            delete_pods(shared, owner, &victims, namespace).await.err()
        }
    }
}

/// The active pods of this owner and of its siblings (owners with the same controller, such as
/// the ReplicaSets of one Deployment): scale-down prefers nodes where they are doubled up.
fn related_pods<K: Replicated>(shared: &Shared<K>, owner: &K, namespace: &str) -> Vec<Arc<Pod>> {
    let mut family: Vec<String> = vec![owner.uid().unwrap_or_default()];
    if let Some(parent) = owners::controller_of(owner.meta()) {
        family.extend(
            shared
                .owners
                .list(namespace)
                .iter()
                .filter(|o| owners::is_controlled_by(o.meta(), &parent.uid))
                .filter_map(|o| o.uid()),
        );
    }
    shared
        .pods
        .list(namespace)
        .into_iter()
        .filter(|p| pods::is_active(p) && owners::controller_of(&p.metadata).is_some_and(|r| family.contains(&r.uid)))
        .collect()
}

async fn create_pods<K: Replicated>(
    shared: &Shared<K>,
    owner: &K,
    template: &PodTemplateSpec,
    namespace: &str,
    count: usize,
) -> Result<(), Failure> {
    let api: Api<Pod> = Api::namespaced(shared.ctx.client.clone(), namespace);
    let uid = owner.uid().unwrap_or_default();
    let pod =
        pods::pod_from_template(template, format!("{}-", owner.name_any()), namespace, owners::controller_ref(owner));
    for batch in decide::slow_start_batches(count) {
        let results: Vec<Result<Pod, kube::Error>> = futures::stream::iter(0..batch)
            .map(|_| {
                let (api, pod) = (api.clone(), pod.clone());
                async move { api.create(&PostParams::default(), &pod).await }
            })
            .buffer_unordered(CALLS_IN_FLIGHT)
            .collect()
            .await;
        let mut first_error = None;
        for result in results {
            match result {
                Ok(created) => {
                    let name = created.name_any();
                    shared.expectations.created(&uid, &name, || match shared.pods.get(namespace, &name) {
                        Some(_) => Seen::Present,
                        None => Seen::Absent,
                    });
                    shared.recorder.normal(owner, "SuccessfulCreate", format!("Created pod: {name}"));
                }
                Err(err) => {
                    shared.recorder.warning(owner, "FailedCreate", format!("Error creating: {}", api_message(&err)));
                    first_error.get_or_insert(err);
                }
            }
        }
        if let Some(err) = first_error {
            return Err(Failure { reason: "FailedCreate", message: api_message(&err) });
        }
    }
    Ok(())
}

async fn delete_pods<K: Replicated>(
    shared: &Shared<K>,
    owner: &K,
    victims: &[&Pod],
    namespace: &str,
) -> Result<(), Failure> {
    let api: Api<Pod> = Api::namespaced(shared.ctx.client.clone(), namespace);
    let uid = owner.uid().unwrap_or_default();
    let targets: Vec<(String, Option<String>)> = victims.iter().map(|p| (p.name_any(), p.uid())).collect();
    let results: Vec<(String, Result<(), kube::Error>)> = futures::stream::iter(targets)
        .map(|(name, pod_uid)| {
            let api = api.clone();
            async move {
                let params = DeleteParams {
                    preconditions: Some(Preconditions { uid: pod_uid, resource_version: None }),
                    ..Default::default()
                };
                let result = match api.delete(&name, &params).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
                    Err(err) => Err(err),
                };
                (name, result)
            }
        })
        .buffer_unordered(CALLS_IN_FLIGHT)
        .collect()
        .await;
    let mut first_error = None;
    for (name, result) in results {
        match result {
            Ok(()) => {
                shared.expectations.deleted(&uid, &name, || match shared.pods.get(namespace, &name) {
                    Some(p) if p.metadata.deletion_timestamp.is_none() => Seen::Present,
                    _ => Seen::DeletingOrGone,
                });
                shared.recorder.normal(owner, "SuccessfulDelete", format!("Deleted pod: {name}"));
            }
            Err(err) => {
                shared.recorder.warning(owner, "FailedDelete", format!("Error deleting: {}", api_message(&err)));
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) => Err(Failure { reason: "FailedDelete", message: api_message(&err) }),
        None => Ok(()),
    }
}

/// The server's message for an API error (what upstream puts in events and conditions).
pub(crate) fn api_message(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}
