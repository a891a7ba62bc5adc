//! One sync of one Deployment (upstream `sync.go`, `rolling.go`, `recreate.go`): the I/O around
//! the pure decisions of [`super::rollout`], [`super::status`] and [`super::annotations`].
//! Every write goes through the API; the local copies are refreshed from the answers so that
//! later steps of the same sync see them.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams, Preconditions};
use serde_json::json;

use super::Shared;
use super::annotations;
use super::hash::{self, HASH_LABEL};
use super::rollout::{self, desired, rs_replicas};
use super::status;
use crate::replicaset::api_message;
use crate::{Error, owners};

/// The state of one sync: the Deployment and the ReplicaSets it controls.
#[derive(Debug)]
pub struct Sync<'a> {
    pub shared: &'a Shared,
    pub d: Deployment,
    pub rss: Vec<ReplicaSet>,
}

fn template(d: &Deployment) -> PodTemplateSpec {
    d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default()
}

fn rs_template(rs: &ReplicaSet) -> PodTemplateSpec {
    rs.spec.as_ref().and_then(|s| s.template.clone()).unwrap_or_default()
}

impl Sync<'_> {
    fn namespace(&self) -> String {
        self.d.namespace().unwrap_or_default()
    }

    fn rs_api(&self) -> Api<ReplicaSet> {
        Api::namespaced(self.shared.ctx.client.clone(), &self.namespace())
    }

    fn d_api(&self) -> Api<Deployment> {
        Api::namespaced(self.shared.ctx.client.clone(), &self.namespace())
    }

    fn status(&self) -> DeploymentStatus {
        self.d.status.clone().unwrap_or_default()
    }

    /// The ReplicaSet whose template is the Deployment's (the oldest, if several).
    fn find_new(&self) -> Option<usize> {
        let want = template(&self.d);
        let mut matching: Vec<usize> =
            (0..self.rss.len()).filter(|i| hash::equal_ignoring_hash(&rs_template(&self.rss[*i]), &want)).collect();
        matching.sort_by(|a, b| rollout::by_creation(&self.rss[*a], &self.rss[*b]));
        matching.first().copied()
    }

    fn others(&self, new: Option<usize>) -> Vec<&ReplicaSet> {
        self.rss.iter().enumerate().filter(|(i, _)| Some(*i) != new).map(|(_, rs)| rs).collect()
    }

    fn all(&self) -> Vec<&ReplicaSet> {
        self.rss.iter().collect()
    }

    fn surge_total(&self) -> i32 {
        desired(&self.d) + rollout::max_surge(&self.d)
    }

    /// Writes the status when it changed (upstream `UpdateStatus`, with the resourceVersion).
    pub async fn write_status(&mut self, status: DeploymentStatus) -> Result<(), Error> {
        if self.d.status.as_ref() == Some(&status) {
            return Ok(());
        }
        let mut next = self.d.clone();
        next.status = Some(status);
        self.d = self.d_api().replace_status(&self.d.name_any(), &PostParams::default(), &next).await?;
        Ok(())
    }

    /// Records the revision on the Deployment (upstream `SetDeploymentRevision`).
    async fn set_revision(&mut self, revision: i64) -> Result<(), Error> {
        let value = revision.to_string();
        if self.d.annotations().get(annotations::REVISION) == Some(&value) {
            return Ok(());
        }
        let patch = json!({"metadata": {"annotations": {annotations::REVISION: value}}});
        let patched = self.d_api().patch(&self.d.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        // Keep the status we computed; take the new metadata (and resourceVersion).
        self.d.metadata = patched.metadata;
        Ok(())
    }

    /// The new ReplicaSet, its revision and annotations synced; created when missing and
    /// `create` (upstream `getNewReplicaSet`).
    pub async fn new_rs(&mut self, create: bool) -> Result<Option<usize>, Error> {
        let existing = self.find_new();
        let new_revision = annotations::max_revision(&self.others(existing)) + 1;
        let now = Timestamp::now();
        if let Some(i) = existing {
            let mut rs = self.rss[i].clone();
            let changed = annotations::set_new_rs_annotations(&self.d, &mut rs, new_revision, true, 0, 0);
            let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
            let min_ready_changed = rs.spec.as_ref().and_then(|s| s.min_ready_seconds) != min_ready;
            if changed || min_ready_changed {
                let patch = json!({
                    "metadata": {"annotations": rs.metadata.annotations},
                    "spec": {"minReadySeconds": min_ready},
                });
                self.rss[i] =
                    self.rs_api().patch(&rs.name_any(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
            }
            let revision = annotations::revision(&self.rss[i]);
            self.set_revision(revision).await?;
            if status::has_progress_deadline(&self.d).is_some()
                && status::get(&self.status(), status::PROGRESSING).is_none()
            {
                let mut next = self.status();
                let message = format!("Found new replica set {:?}", self.rss[i].name_any());
                status::set(
                    &mut next,
                    status::condition(status::PROGRESSING, "True", status::FOUND_NEW_RS, message, now),
                );
                self.write_status(next).await?;
            }
            return Ok(Some(i));
        }
        if !create {
            return Ok(None);
        }
        let rs = self.build_new_rs(new_revision);
        let name = rs.name_any();
        let replicas = rs_replicas(&rs);
        match self.rs_api().create(&PostParams::default(), &rs).await {
            Ok(created) => self.rss.push(created),
            Err(kube::Error::Api(e)) if e.code == 409 => {
                // A ReplicaSet of that name exists: ours with this template (a stale cache), or a
                // hash collision that a new collisionCount resolves.
                let found = self.rs_api().get_opt(&name).await?;
                let uid = self.d.uid().unwrap_or_default();
                match found {
                    Some(rs)
                        if owners::is_controlled_by(&rs.metadata, &uid)
                            && hash::equal_ignoring_hash(&rs_template(&rs), &template(&self.d)) =>
                    {
                        self.rss.push(rs);
                        return Ok(Some(self.rss.len() - 1));
                    }
                    _ => {
                        let mut next = self.status();
                        next.collision_count = Some(next.collision_count.unwrap_or(0) + 1);
                        self.write_status(next).await?;
                        return Err(Error::Invalid(format!("replica set {name} exists with another template")));
                    }
                }
            }
            Err(err) => {
                if status::has_progress_deadline(&self.d).is_some() {
                    let mut next = self.status();
                    let message = format!("Failed to create new replica set {name:?}: {}", api_message(&err));
                    status::set(
                        &mut next,
                        status::condition(status::PROGRESSING, "False", status::FAILED_RS_CREATE, message, now),
                    );
                    self.write_status(next).await?;
                }
                return Err(err.into());
            }
        }
        if replicas > 0 {
            self.scaling_event(&name, "up", 0, replicas);
        }
        self.set_revision(new_revision).await?;
        if status::has_progress_deadline(&self.d).is_some() {
            let mut next = self.status();
            let message = format!("Created new replica set {name:?}");
            status::set(
                &mut next,
                status::condition(status::PROGRESSING, "True", status::NEW_RS_CREATED, message, now),
            );
            self.write_status(next).await?;
        }
        Ok(Some(self.rss.len() - 1))
    }

    fn build_new_rs(&self, revision: i64) -> ReplicaSet {
        let d = &self.d;
        let collision = d.status.as_ref().and_then(|s| s.collision_count);
        let pod_hash = hash::template_hash(&template(d), collision);
        let mut template = template(d);
        let meta = template.metadata.get_or_insert_with(Default::default);
        meta.labels.get_or_insert_with(BTreeMap::new).insert(HASH_LABEL.into(), pod_hash.clone());
        let labels = meta.labels.clone();
        let mut selector = d.spec.as_ref().map(|s| s.selector.clone()).unwrap_or_default();
        selector.match_labels.get_or_insert_with(BTreeMap::new).insert(HASH_LABEL.into(), pod_hash.clone());
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(format!("{}-{pod_hash}", d.name_any())),
                namespace: d.namespace(),
                owner_references: Some(vec![owners::controller_ref(d)]),
                labels,
                ..Default::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: d.spec.as_ref().and_then(|s| s.min_ready_seconds),
                selector,
                template: Some(template),
            }),
            status: None,
        };
        let mut all = self.all();
        all.push(&rs);
        let replicas = rollout::new_rs_new_replicas(d, &all, 0);
        if let Some(spec) = rs.spec.as_mut() {
            spec.replicas = Some(replicas);
        }
        annotations::set_new_rs_annotations(d, &mut rs, revision, false, desired(d), self.surge_total());
        rs
    }

    fn scaling_event(&self, rs_name: &str, direction: &str, from: i32, to: i32) {
        let message = format!("Scaled {direction} replica set {rs_name} from {from} to {to}");
        self.shared.recorder.normal(&self.d, "ScalingReplicaSet", message);
    }

    /// Sets a ReplicaSet's size and replica annotations (upstream `scaleReplicaSet`); whether
    /// anything was written.
    pub async fn scale_rs(&mut self, i: usize, size: i32) -> Result<bool, Error> {
        let rs = &self.rss[i];
        let from = rs_replicas(rs);
        let (want, max) = (desired(&self.d), self.surge_total());
        let size_changed = from != size;
        if !size_changed && !annotations::replicas_need_update(rs, want, max) {
            return Ok(false);
        }
        let patch = json!({
            "metadata": {"annotations": {
                annotations::DESIRED_REPLICAS: want.to_string(),
                annotations::MAX_REPLICAS: max.to_string(),
            }},
            "spec": {"replicas": size},
        });
        let name = rs.name_any();
        self.rss[i] = self.rs_api().patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        if size_changed {
            self.scaling_event(&name, if size > from { "up" } else { "down" }, from, size);
        }
        Ok(true)
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.rss.iter().position(|rs| rs.metadata.name.as_deref() == Some(name))
    }

    /// Writes the status after a rollout step (progress and deadline included).
    async fn rollout_status(&mut self, new: Option<usize>) -> Result<(), Error> {
        let new_rs = new.map(|i| &self.rss[i]);
        let next = status::rollout(&self.d, &self.all(), new_rs, Timestamp::now());
        self.write_status(next).await
    }

    /// Writes the counts only (scaling, paused, deleting).
    async fn plain_status(&mut self, new: Option<usize>) -> Result<(), Error> {
        let new_rs = new.map(|i| &self.rss[i]);
        let next = status::calculate(&self.d, &self.all(), new_rs, Timestamp::now());
        self.write_status(next).await
    }

    /// A rolling update step (upstream `rolloutRolling`).
    pub async fn rolling(&mut self) -> Result<(), Error> {
        let new = self.new_rs(true).await?;
        let Some(n) = new else { return Ok(()) };
        // Grow (or trim) the new ReplicaSet.
        let current = rs_replicas(&self.rss[n]);
        let want = desired(&self.d);
        let target = if current > want { want } else { rollout::new_rs_new_replicas(&self.d, &self.all(), current) };
        if target != current {
            self.scale_rs(n, target).await?;
            return self.rollout_status(new).await;
        }
        // Shrink old ones as availability allows.
        let olds: Vec<&ReplicaSet> = self.others(new).into_iter().filter(|rs| rs_replicas(rs) > 0).collect();
        let sizes = rollout::scale_down_old(&self.d, &olds, &self.rss[n]);
        let mut scaled = false;
        for (name, size) in sizes {
            if let Some(i) = self.index_of(&name) {
                scaled |= self.scale_rs(i, size).await?;
            }
        }
        if !scaled && status::complete(&self.d, &self.status()) {
            self.cleanup(new).await?;
        }
        self.rollout_status(new).await
    }

    /// A Recreate step (upstream `rolloutRecreate`): all old pods gone before new ones start.
    pub async fn recreate(&mut self) -> Result<(), Error> {
        let mut new = self.new_rs(false).await?;
        let olds: Vec<usize> =
            (0..self.rss.len()).filter(|i| Some(*i) != new && rs_replicas(&self.rss[*i]) > 0).collect();
        let mut scaled = false;
        for i in olds {
            scaled |= self.scale_rs(i, 0).await?;
        }
        if scaled || self.old_pods_running(new) {
            return self.rollout_status(new).await;
        }
        if new.is_none() {
            new = self.new_rs(true).await?;
        }
        if let Some(n) = new
            && rs_replicas(&self.rss[n]) != desired(&self.d)
        {
            let want = desired(&self.d);
            self.scale_rs(n, want).await?;
        }
        if status::complete(&self.d, &self.status()) {
            self.cleanup(new).await?;
        }
        self.rollout_status(new).await
    }

    /// Whether pods of old ReplicaSets still exist and are not finished (terminating ones count).
    fn old_pods_running(&self, new: Option<usize>) -> bool {
        let olds = self.others(new);
        if olds.iter().map(|rs| rs.status.as_ref().map_or(0, |s| s.replicas)).sum::<i32>() > 0 {
            return true;
        }
        let old_uids: Vec<String> = olds.iter().filter_map(|rs| rs.uid()).collect();
        let pods: Vec<Arc<Pod>> = self.shared.pods.list(&self.namespace());
        pods.iter().any(|p| {
            let finished = matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed"));
            !finished && owners::controller_of(&p.metadata).is_some_and(|r| old_uids.contains(&r.uid))
        })
    }

    /// Whether the Deployment was resized: an active ReplicaSet records another desired size.
    pub async fn is_scaling_event(&mut self) -> Result<bool, Error> {
        self.new_rs(false).await?;
        let want = desired(&self.d);
        Ok(self
            .rss
            .iter()
            .filter(|rs| rs_replicas(rs) > 0)
            .any(|rs| annotations::desired_replicas(rs).is_some_and(|d| d != want)))
    }

    /// Scaling without a rollout (upstream `sync`): resize, and clean up when paused.
    pub async fn scale_only(&mut self) -> Result<(), Error> {
        let new = self.new_rs(false).await?;
        self.scale(new).await?;
        if self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false) {
            self.cleanup(new).await?;
        }
        self.plain_status(new).await
    }

    pub async fn status_only(&mut self) -> Result<(), Error> {
        let new = self.new_rs(false).await?;
        self.plain_status(new).await
    }

    /// Upstream `scale`: the one active (or latest) ReplicaSet takes the whole size; a saturated
    /// new one sends the old ones to 0; otherwise every active one scales in proportion.
    async fn scale(&mut self, new: Option<usize>) -> Result<(), Error> {
        let want = desired(&self.d);
        let active: Vec<usize> = (0..self.rss.len()).filter(|i| rs_replicas(&self.rss[*i]) > 0).collect();
        let single = match (active.len(), new) {
            (1, _) => Some(active[0]),
            (0, Some(n)) => Some(n),
            (0, None) => (0..self.rss.len()).max_by(|a, b| rollout::by_creation(&self.rss[*a], &self.rss[*b])),
            _ => None,
        };
        if let Some(i) = single {
            if rs_replicas(&self.rss[i]) != want {
                self.scale_rs(i, want).await?;
            }
            return Ok(());
        }
        if let Some(n) = new {
            let rs = &self.rss[n];
            let saturated = annotations::desired_replicas(rs) == Some(want)
                && rollout::rs_available(rs) == want
                && rs_replicas(rs) == want;
            if saturated {
                for i in active.into_iter().filter(|i| *i != n) {
                    self.scale_rs(i, 0).await?;
                }
                return Ok(());
            }
        }
        if rollout::is_rolling(&self.d) {
            let actives: Vec<&ReplicaSet> = active.iter().map(|i| &self.rss[*i]).collect();
            let (sizes, _) = rollout::proportional_sizes(&self.d, &actives);
            for (name, size) in sizes {
                if let Some(i) = self.index_of(&name) {
                    self.scale_rs(i, size).await?;
                }
            }
        }
        Ok(())
    }

    /// Deletes the oldest zero-sized ReplicaSets beyond `revisionHistoryLimit`.
    async fn cleanup(&mut self, new: Option<usize>) -> Result<(), Error> {
        let Some(limit) = self.d.spec.as_ref().and_then(|s| s.revision_history_limit).filter(|l| *l != i32::MAX) else {
            return Ok(());
        };
        let mut olds: Vec<&ReplicaSet> =
            self.others(new).into_iter().filter(|rs| rs.metadata.deletion_timestamp.is_none()).collect();
        let excess = olds.len().saturating_sub(usize::try_from(limit).unwrap_or(0));
        if excess == 0 {
            return Ok(());
        }
        olds.sort_by(|a, b| {
            annotations::revision(a).cmp(&annotations::revision(b)).then_with(|| rollout::by_creation(a, b))
        });
        let doomed: Vec<(String, Option<String>)> = olds
            .into_iter()
            .take(excess)
            .filter(|rs| {
                let status = rs.status.clone().unwrap_or_default();
                status.replicas == 0
                    && rs_replicas(rs) == 0
                    && rs.metadata.generation.unwrap_or(0) <= status.observed_generation.unwrap_or(0)
            })
            .map(|rs| (rs.name_any(), rs.uid()))
            .collect();
        let api = self.rs_api();
        for (name, uid) in doomed {
            let params = DeleteParams {
                preconditions: Some(Preconditions { uid, resource_version: None }),
                ..Default::default()
            };
            match api.delete(&name, &params).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(())
    }
}
