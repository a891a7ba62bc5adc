//! Claiming children (upstream `ControllerRefManager`): an owner adopts matching orphans by
//! patching its controller reference onto them and releases its children that no longer match
//! by removing it. Used for pods (ReplicaSets) and ReplicaSets (Deployments).

use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::informers::Informable;
use crate::{Error, owners, selectors};

/// What to do with one candidate child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Ours and matching.
    Keep,
    /// An orphan that matches: take it.
    Adopt,
    /// Ours but no longer matching: let it go.
    Release,
    /// Someone else's, or not ours to take.
    Ignore,
}

/// Upstream's rules: never adopt while the owner or the child is being deleted, never release
/// while the owner is being deleted (the garbage collector decides then).
pub fn decide(owner_uid: &str, owner_deleting: bool, selector: &LabelSelector, child: &kube::api::ObjectMeta) -> Claim {
    let matches = selectors::matches(Some(selector), child.labels.as_ref());
    match owners::controller_of(child) {
        Some(r) if r.uid != owner_uid => Claim::Ignore,
        Some(_) if matches => Claim::Keep,
        Some(_) if owner_deleting => Claim::Ignore,
        Some(_) => Claim::Release,
        None if owner_deleting || !matches || child.deletion_timestamp.is_some() => Claim::Ignore,
        None => Claim::Adopt,
    }
}

/// The children among `candidates` that `owner` controls after adopting and releasing.
pub async fn claim<O, C>(
    client: &kube::Client,
    owner: &O,
    selector: &LabelSelector,
    candidates: &[Arc<C>],
) -> Result<Vec<Arc<C>>, Error>
where
    O: Informable + Resource<Scope = NamespaceResourceScope>,
    C: Informable + Resource<Scope = NamespaceResourceScope>,
{
    let uid = owner.uid().unwrap_or_default();
    let deleting = owner.meta().deletion_timestamp.is_some();
    let mut claimed = Vec::new();
    let mut owner_checked = false;
    for child in candidates {
        let api: Api<C> = Api::namespaced(client.clone(), &child.namespace().unwrap_or_default());
        let child_uid = child.uid().unwrap_or_default();
        match decide(&uid, deleting, selector, child.meta()) {
            Claim::Keep => claimed.push(child.clone()),
            Claim::Ignore => {}
            Claim::Adopt => {
                // Upstream re-reads the owner once before adopting: a stale cache must not adopt
                // for an owner that was deleted or replaced.
                if !owner_checked {
                    let owner_api: Api<O> = Api::namespaced(client.clone(), &owner.namespace().unwrap_or_default());
                    match owner_api.get_opt(&owner.name_any()).await? {
                        Some(fresh) if fresh.uid() == owner.uid() && fresh.meta().deletion_timestamp.is_none() => {}
                        _ => return Ok(claimed),
                    }
                    owner_checked = true;
                }
                let patch = json!({
                    "metadata": {"ownerReferences": [owners::controller_ref(owner)], "uid": child_uid}
                });
                match api.patch(&child.name_any(), &PatchParams::default(), &Patch::Strategic(&patch)).await {
                    Ok(adopted) => claimed.push(Arc::new(adopted)),
                    Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {}
                    Err(err) => return Err(err.into()),
                }
            }
            Claim::Release => {
                let patch = json!({
                    "metadata": {"ownerReferences": [{"$patch": "delete", "uid": uid}], "uid": child_uid}
                });
                match api.patch(&child.name_any(), &PatchParams::default(), &Patch::Strategic(&patch)).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {}
                    Err(err) => return Err(err.into()),
                }
            }
        }
    }
    Ok(claimed)
}

/// [`claim`] for a ReplicaSet-like owner's pods.
pub async fn claim_pods<O: Informable + Resource<Scope = NamespaceResourceScope>>(
    client: &kube::Client,
    owner: &O,
    selector: &LabelSelector,
    candidates: &[Arc<k8s_openapi::api::core::v1::Pod>],
) -> Result<Vec<Arc<k8s_openapi::api::core::v1::Pod>>, Error> {
    claim(client, owner, selector, candidates).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
    use k8s_openapi::jiff::Timestamp;
    use kube::api::ObjectMeta;

    fn child(owner: Option<&str>, app: &str) -> ObjectMeta {
        ObjectMeta {
            labels: Some([("app".to_string(), app.to_string())].into()),
            owner_references: owner
                .map(|uid| vec![OwnerReference { uid: uid.into(), controller: Some(true), ..Default::default() }]),
            ..Default::default()
        }
    }

    fn selector() -> LabelSelector {
        LabelSelector { match_labels: Some([("app".to_string(), "web".to_string())].into()), match_expressions: None }
    }

    #[test]
    fn adopts_matching_orphans_and_releases_non_matching_children() {
        assert_eq!(decide("me", false, &selector(), &child(None, "web")), Claim::Adopt);
        assert_eq!(decide("me", false, &selector(), &child(None, "db")), Claim::Ignore);
        assert_eq!(decide("me", false, &selector(), &child(Some("me"), "web")), Claim::Keep);
        assert_eq!(decide("me", false, &selector(), &child(Some("me"), "db")), Claim::Release);
        assert_eq!(decide("me", false, &selector(), &child(Some("other"), "web")), Claim::Ignore);
    }

    #[test]
    fn a_deleting_owner_neither_adopts_nor_releases() {
        assert_eq!(decide("me", true, &selector(), &child(None, "web")), Claim::Ignore);
        assert_eq!(decide("me", true, &selector(), &child(Some("me"), "db")), Claim::Ignore);
        let mut deleting = child(None, "web");
        deleting.deletion_timestamp = Some(Time(Timestamp::now()));
        assert_eq!(decide("me", false, &selector(), &deleting), Claim::Ignore);
    }
}
