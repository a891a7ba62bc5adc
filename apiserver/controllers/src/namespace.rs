//! The namespace controller: empties a namespace being deleted (every namespaced resource
//! the server serves), reports progress in the namespace's conditions, and once nothing is
//! left removes the `kubernetes` finalizer through the `finalize` subresource, which lets the
//! API server delete the namespace.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::{ApiResource, Discovery, Scope, verbs};
use kube::runtime::controller::{Action, Config, Controller};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::{Context, Error};

/// The finalizer the namespace controller owns.
pub const KUBERNETES_FINALIZER: &str = "kubernetes";

/// How soon to look again while content remains (pods wait for their nodes' grace periods).
const RECHECK: Duration = Duration::from_secs(2);

pub async fn run(ctx: Arc<Context>) -> Result<(), Error> {
    let namespaces = ctx.informers.get::<Namespace>();
    Controller::for_shared_stream(namespaces.subscribe(), namespaces.store())
        .with_config(Config::default().concurrency(ctx.options.concurrency))
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
    Ok(())
}

fn error_policy(_ns: Arc<Namespace>, err: &Error, _ctx: Arc<Context>) -> Action {
    tracing::debug!(%err, "namespace controller: retrying");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    let finalizers = ns.spec.as_ref().and_then(|s| s.finalizers.clone()).unwrap_or_default();
    if ns.metadata.deletion_timestamp.is_none() || !finalizers.iter().any(|f| f == KUBERNETES_FINALIZER) {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let remaining = empty(&ctx.client, &name).await?;
    let conditions = conditions(&remaining);
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    if ns.status.as_ref().and_then(|s| s.conditions.as_ref()).map(|c| strip_times(c)) != Some(strip_times(&conditions))
    {
        let patch = json!({"status": {"conditions": conditions}});
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    if !remaining.is_empty() {
        return Ok(Action::requeue(RECHECK));
    }
    // Empty: hand the namespace back to the API server without our finalizer.
    let mut finalized = (*ns).clone();
    let kept: Vec<String> = finalizers.into_iter().filter(|f| f != KUBERNETES_FINALIZER).collect();
    finalized.spec.get_or_insert_with(Default::default).finalizers = Some(kept);
    finalized.metadata.managed_fields = None;
    match api.replace_subresource("finalize", &name, &PostParams::default(), &finalized).await {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(Action::await_change()),
        Err(err) => Err(err.into()),
    }
}

/// What is left of one resource type after a delete pass.
#[derive(Debug, Clone, PartialEq)]
struct Remaining {
    resource: String,
    count: usize,
    finalizers: Vec<String>,
}

/// Deletes everything in the namespace and reports what is still there.
async fn empty(client: &Client, namespace: &str) -> Result<Vec<Remaining>, Error> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let mut remaining = Vec::new();
    for resource in namespaced_resources(&discovery) {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        let present = api.list_metadata(&ListParams::default()).await?;
        if present.items.is_empty() {
            continue;
        }
        let pending: Vec<_> = present.items.iter().filter(|o| o.metadata.deletion_timestamp.is_none()).collect();
        if !pending.is_empty() {
            match api.delete_collection(&DeleteParams::background(), &ListParams::default()).await {
                Ok(_) => {}
                // Not collection-deletable: one by one.
                Err(kube::Error::Api(status)) if status.code == 405 => {
                    for obj in pending {
                        let _ = api.delete(&obj.name_any(), &DeleteParams::background()).await;
                    }
                }
                Err(err) => return Err(err.into()),
            }
        }
        let left = api.list_metadata(&ListParams::default()).await?;
        if !left.items.is_empty() {
            let mut finalizers: Vec<String> = left.items.iter().flat_map(|o| o.finalizers().to_vec()).collect();
            finalizers.sort();
            finalizers.dedup();
            let group = if resource.group.is_empty() { String::new() } else { format!(".{}", resource.group) };
            remaining.push(Remaining {
                resource: format!("{}{group}", resource.plural),
                count: left.items.len(),
                finalizers,
            });
        }
    }
    Ok(remaining)
}

fn namespaced_resources(discovery: &Discovery) -> Vec<ApiResource> {
    let mut found = Vec::new();
    for group in discovery.groups() {
        for (resource, caps) in group.recommended_resources() {
            if caps.scope == Scope::Namespaced
                && caps.supports_operation(verbs::LIST)
                && caps.supports_operation(verbs::DELETE)
            {
                found.push(resource);
            }
        }
    }
    found
}

/// Upstream's deletion conditions, from what remains.
fn conditions(remaining: &[Remaining]) -> Vec<NamespaceCondition> {
    let now = Time(Timestamp::now());
    let condition = |type_: &str, status: bool, reason: &str, message: String| NamespaceCondition {
        type_: type_.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message),
        last_transition_time: Some(now.clone()),
    };
    let content = remaining.iter().map(|r| format!("{} has {} resource instances", r.resource, r.count));
    let content: Vec<String> = content.collect();
    let finalizers: Vec<String> = remaining
        .iter()
        .flat_map(|r| r.finalizers.iter().map(move |f| format!("{f} in {} resource instances", r.resource)))
        .collect();
    vec![
        condition(
            "NamespaceDeletionDiscoveryFailure",
            false,
            "ResourcesDiscovered",
            "All resources successfully discovered".into(),
        ),
        condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            false,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed".into(),
        ),
        condition(
            "NamespaceDeletionContentFailure",
            false,
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization".into(),
        ),
        if content.is_empty() {
            condition("NamespaceContentRemaining", false, "ContentRemoved", "All content successfully removed".into())
        } else {
            condition(
                "NamespaceContentRemaining",
                true,
                "SomeResourcesRemain",
                format!("Some resources are remaining: {}", content.join(", ")),
            )
        },
        if finalizers.is_empty() {
            condition(
                "NamespaceFinalizersRemaining",
                false,
                "ContentHasNoFinalizers",
                "All content-preserving finalizers finished".into(),
            )
        } else {
            condition(
                "NamespaceFinalizersRemaining",
                true,
                "SomeFinalizersRemain",
                format!("Some content in the namespace has finalizers remaining: {}", finalizers.join(", ")),
            )
        },
    ]
}

/// Conditions without their times, to tell whether anything changed.
fn strip_times(conditions: &[NamespaceCondition]) -> Vec<NamespaceCondition> {
    conditions.iter().cloned().map(|c| NamespaceCondition { last_transition_time: None, ..c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_say_what_remains() {
        let remaining = vec![Remaining { resource: "pods".into(), count: 2, finalizers: vec!["example.com/x".into()] }];
        let conditions = conditions(&remaining);
        let by_type = |t: &str| conditions.iter().find(|c| c.type_ == t).unwrap().clone();
        assert_eq!(by_type("NamespaceContentRemaining").status, "True");
        assert_eq!(
            by_type("NamespaceContentRemaining").message.unwrap(),
            "Some resources are remaining: pods has 2 resource instances"
        );
        assert_eq!(by_type("NamespaceFinalizersRemaining").reason.unwrap(), "SomeFinalizersRemain");
        let done = super::conditions(&[]);
        assert!(done.iter().all(|c| c.status == "False"), "{done:?}");
    }
}
