//! Registering nodes and their leases, many at once: creating 5,000 Nodes one after the other
//! would take minutes. An existing Node (agent restart) is updated instead of failing.

use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use crate::Error;
use crate::lease::{LEASE_NAMESPACE, lease_object};
use crate::node::{NodeIdentity, NodeTemplate, labels, node_object, node_status};

/// Field manager of the agent's node and lease writes.
pub const FIELD_MANAGER: &str = "kubelet";

/// A registered node: its name and uid (leases are owned by it).
#[derive(Debug, Clone)]
pub struct Registered {
    pub name: String,
    pub uid: String,
}

/// Registers every node and creates its lease, `concurrency` requests at a time.
pub async fn register_all(
    client: &Client,
    identities: &[NodeIdentity],
    template: &NodeTemplate,
    since: Timestamp,
    concurrency: usize,
) -> Result<Vec<Registered>, Error> {
    // Owned inputs per request: futures borrowing from the closure's argument are not `Send`
    // under higher-ranked lifetimes, and `run` must be spawnable.
    let template = std::sync::Arc::new(template.clone());
    futures::stream::iter(identities.to_vec())
        .map(|identity| {
            let (client, template) = (client.clone(), template.clone());
            async move {
                let registered = register_node(&client, &identity, &template, since).await?;
                ensure_lease(&client, &registered).await?;
                Ok::<_, Error>(registered)
            }
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await
}

/// Creates the Node, or brings an existing one up to date (labels, status).
pub async fn register_node(
    client: &Client,
    identity: &NodeIdentity,
    template: &NodeTemplate,
    since: Timestamp,
) -> Result<Registered, Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let err = |source| Error::Register { node: identity.name.clone(), source };
    let node: Node = serde_json::from_value(node_object(identity, template, since))?;
    let params = PostParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
    let patch_params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
    let status_patch = json!({"status": node_status(identity, template, since, since)});
    let node = match nodes.create(&params, &node).await {
        // Servers may drop status on create (it belongs to the status subresource).
        Ok(created) if has_conditions(&created) => created,
        Ok(_) => nodes.patch_status(&identity.name, &patch_params, &Patch::Merge(&status_patch)).await.map_err(err)?,
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let meta = json!({"metadata": {"labels": labels(identity, template)}});
            nodes.patch(&identity.name, &patch_params, &Patch::Merge(&meta)).await.map_err(err)?;
            nodes.patch_status(&identity.name, &patch_params, &Patch::Merge(&status_patch)).await.map_err(err)?
        }
        Err(source) => return Err(err(source)),
    };
    Ok(Registered { name: identity.name.clone(), uid: node.metadata.uid.unwrap_or_default() })
}

fn has_conditions(node: &Node) -> bool {
    node.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| !c.is_empty())
}

/// Creates the node's lease, or takes over an existing one (owner and holder restated).
pub async fn ensure_lease(client: &Client, node: &Registered) -> Result<(), Error> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let err = |source| Error::Lease { node: node.name.clone(), source };
    let object = lease_object(&node.name, &node.uid, Timestamp::now());
    let lease: Lease = serde_json::from_value(object.clone())?;
    let params = PostParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
    match leases.create(&params, &lease).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let patch_params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..Default::default() };
            leases.patch(&node.name, &patch_params, &Patch::Merge(&object)).await.map(drop).map_err(err)
        }
        Err(source) => Err(err(source)),
    }
}
