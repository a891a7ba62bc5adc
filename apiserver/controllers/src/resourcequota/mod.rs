//! The resource quota controller (upstream `pkg/controller/resourcequota`): keeps every
//! ResourceQuota's `status.hard` (= `spec.hard`) and `status.used` (what the namespace uses of
//! each resource in `spec.hard`, [`usage`]) current. Enforcement on create is the API
//! server's admission, not this controller.
//!
//! Informers of the counted kinds start on first use (a cluster without a `secrets` quota
//! never caches secrets); each one's changes re-sync the quotas of the object's namespace,
//! debounced so a burst of pod changes costs one sync per quota.

pub mod quantity;
pub mod usage;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, ReplicationController, ResourceQuota, Secret, Service,
};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::informers::{Informable, Informer};
use crate::{Context, Error};
use usage::{Kind, Usage};

/// Full re-sync of every quota (upstream `--resource-quota-sync-period`, 5 minutes).
const RESYNC: Duration = Duration::from_secs(300);
/// Changes within this window are one sync.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// Quotas waiting to be re-synced because something in their namespace changed.
const TRIGGER_QUEUE: usize = 1024;
/// How long a sync waits for a newly started informer's first list.
const FIRST_LIST: Duration = Duration::from_secs(30);

struct Shared {
    ctx: Arc<Context>,
    quotas: Store<ResourceQuota>,
    watched: Mutex<HashSet<Kind>>,
    triggers: mpsc::Sender<ObjectRef<ResourceQuota>>,
}

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let informer = ctx.informers.get::<ResourceQuota>();
    let (triggers, receiver) = mpsc::channel(TRIGGER_QUEUE);
    let shared = Arc::new(Shared { ctx: ctx.clone(), quotas: informer.store(), watched: Mutex::default(), triggers });
    let mut receiver = receiver;
    let changed_namespaces = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    Controller::for_shared_stream(informer.subscribe(), informer.store())
        .reconcile_on(changed_namespaces)
        .with_config(Config::default().concurrency(ctx.options.concurrency).debounce(DEBOUNCE))
        .run(reconcile, error_policy, shared)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(%err, "quota sync failed");
            }
        })
        .await;
    Ok(())
}

fn error_policy(_quota: Arc<ResourceQuota>, err: &Error, _shared: Arc<Shared>) -> Action {
    tracing::debug!(%err, "requeueing quota after a failed sync");
    Action::requeue(Duration::from_secs(2))
}

async fn reconcile(quota: Arc<ResourceQuota>, shared: Arc<Shared>) -> Result<Action, Error> {
    let namespace = quota.namespace().unwrap_or_default();
    let spec = quota.spec.clone().unwrap_or_default();
    let hard: BTreeMap<String, String> = spec.hard.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect();
    let scoped = usage::is_scoped(&spec);
    let kinds: std::collections::BTreeSet<Kind> = hard.keys().filter_map(|name| usage::kind_of(name)).collect();

    let mut used = Usage::new();
    for kind in kinds {
        // Scoped quotas track pods only (upstream's other evaluators match no scope).
        if scoped && kind != Kind::Pods {
            continue;
        }
        shared.add_usage(kind, &namespace, &spec, &mut used).await?;
    }
    let next_hard = usage::canonical_hard(&hard);
    let next_used = usage::used_for(&hard, &used);

    let status = quota.status.clone().unwrap_or_default();
    let current_hard: BTreeMap<String, String> =
        status.hard.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect();
    let current_used: BTreeMap<String, String> =
        status.used.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect();
    if current_hard != next_hard || current_used != next_used {
        let patch = json!({"status": {
            "hard": merge_map(&current_hard, &next_hard),
            "used": merge_map(&current_used, &next_used),
        }});
        let api: Api<ResourceQuota> = Api::namespaced(shared.ctx.client.clone(), &namespace);
        api.patch_status(&quota.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    Ok(Action::requeue(RESYNC))
}

/// A merge-patch map from `current` to `next` (keys that went away set to null).
fn merge_map(current: &BTreeMap<String, String>, next: &BTreeMap<String, String>) -> Value {
    let mut map = serde_json::Map::new();
    for key in current.keys().filter(|k| !next.contains_key(*k)) {
        map.insert(key.clone(), Value::Null);
    }
    for (key, value) in next {
        map.insert(key.clone(), Value::String(value.clone()));
    }
    Value::Object(map)
}

impl Shared {
    /// Adds what the objects of `kind` in `namespace` use.
    async fn add_usage(
        &self,
        kind: Kind,
        namespace: &str,
        spec: &k8s_openapi::api::core::v1::ResourceQuotaSpec,
        used: &mut Usage,
    ) -> Result<(), Error> {
        match kind {
            Kind::Pods => {
                let scoped = usage::is_scoped(spec);
                for pod in self.objects::<Pod>(kind, namespace).await? {
                    if !scoped || usage::pod_matches_scopes(&pod, spec) {
                        usage::pod_usage(&pod, used);
                    }
                }
            }
            Kind::Services => {
                self.objects::<Service>(kind, namespace).await?.iter().for_each(|s| usage::service_usage(s, used))
            }
            Kind::PersistentVolumeClaims => {
                self.objects::<PersistentVolumeClaim>(kind, namespace)
                    .await?
                    .iter()
                    .for_each(|c| usage::claim_usage(c, used));
            }
            Kind::ConfigMaps => {
                usage::object_count(kind, self.objects::<ConfigMap>(kind, namespace).await?.len(), used)
            }
            Kind::Secrets => usage::object_count(kind, self.objects::<Secret>(kind, namespace).await?.len(), used),
            Kind::ReplicationControllers => {
                usage::object_count(kind, self.objects::<ReplicationController>(kind, namespace).await?.len(), used);
            }
            Kind::ResourceQuotas => {
                usage::object_count(kind, self.objects::<ResourceQuota>(kind, namespace).await?.len(), used)
            }
            Kind::Deployments => {
                usage::object_count(kind, self.objects::<Deployment>(kind, namespace).await?.len(), used)
            }
            Kind::ReplicaSets => {
                usage::object_count(kind, self.objects::<ReplicaSet>(kind, namespace).await?.len(), used)
            }
            Kind::StatefulSets => {
                usage::object_count(kind, self.objects::<StatefulSet>(kind, namespace).await?.len(), used)
            }
            Kind::DaemonSets => {
                usage::object_count(kind, self.objects::<DaemonSet>(kind, namespace).await?.len(), used)
            }
            Kind::Jobs => usage::object_count(kind, self.objects::<Job>(kind, namespace).await?.len(), used),
            Kind::CronJobs => usage::object_count(kind, self.objects::<CronJob>(kind, namespace).await?.len(), used),
        }
        Ok(())
    }

    /// The cached objects of `K` in `namespace`, starting (and following) its informer on
    /// first use.
    async fn objects<K: Informable>(&self, kind: Kind, namespace: &str) -> Result<Vec<Arc<K>>, Error> {
        let informer = self.ctx.informers.get::<K>();
        self.follow(kind, &informer);
        tokio::time::timeout(FIRST_LIST, informer.ready())
            .await
            .map_err(|_| Error::Invalid(format!("no list of {} yet", K::kind(&()))))?;
        Ok(informer.store().state().into_iter().filter(|o| o.namespace().as_deref() == Some(namespace)).collect())
    }

    /// Re-syncs the quotas of a namespace whenever an object of `kind` there changes.
    fn follow<K: Informable>(&self, kind: Kind, informer: &Informer<K>) {
        if !self.watched.lock().expect("watched kinds lock").insert(kind) {
            return;
        }
        let mut changes = informer.subscribe().boxed();
        let (quotas, triggers) = (self.quotas.clone(), self.triggers.clone());
        tokio::spawn(async move {
            while let Some(obj) = changes.next().await {
                let namespace = obj.namespace();
                let affected: Vec<ObjectRef<ResourceQuota>> = quotas
                    .state()
                    .iter()
                    .filter(|q| q.namespace() == namespace)
                    .map(|q| ObjectRef::from_obj(q.as_ref()))
                    .collect();
                for quota in affected {
                    if triggers.send(quota).await.is_err() {
                        return; // the controller stopped
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_map_removes_keys_that_went_away() {
        let current: BTreeMap<String, String> = [("pods".into(), "1".into()), ("secrets".into(), "2".into())].into();
        let next: BTreeMap<String, String> = [("pods".into(), "3".into())].into();
        assert_eq!(merge_map(&current, &next), json!({"pods": "3", "secrets": null}));
    }
}
