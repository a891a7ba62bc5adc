//! Whether a token whose signature verified still stands (upstream's validator in
//! `pkg/serviceaccount/claims.go`): inside its time window, its service account still there
//! with the uid it names and not deleted, and likewise the secret, pod or node it is bound to.
//! What stands becomes the service account's user.

use super::claims::{Claims, TimeError, username};
use super::objects::{ObjectKind, TokenObjects, deleted_before_leeway, uid};
use crate::authn::User;

/// Key of a user's `extra`: the token's id (`JTI=<jti>`).
pub const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";
/// Key of a user's `extra`: the pod a token is bound to.
pub const POD_NAME_KEY: &str = "authentication.kubernetes.io/pod-name";
/// Key of a user's `extra`: that pod's uid.
pub const POD_UID_KEY: &str = "authentication.kubernetes.io/pod-uid";
/// Key of a user's `extra`: the node a token is bound to (or its pod's node).
pub const NODE_NAME_KEY: &str = "authentication.kubernetes.io/node-name";
/// Key of a user's `extra`: that node's uid.
pub const NODE_UID_KEY: &str = "authentication.kubernetes.io/node-uid";

/// Why a verified token no longer authenticates (upstream's messages).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// Outside its time window.
    #[error(transparent)]
    Time(#[from] TimeError),
    /// The service account could not be read (`serviceaccounts "robot" not found`).
    #[error("{0}")]
    ServiceAccount(String),
    /// The service account was recreated.
    #[error("service account UID ({current}) does not match claim ({claimed})")]
    ServiceAccountUid {
        /// The uid it has now.
        current: String,
        /// The uid in the token.
        claimed: String,
    },
    /// The service account is being deleted.
    #[error("service account {namespace}/{name} has been deleted")]
    ServiceAccountDeleted {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The bound object is gone or being deleted.
    #[error("service account token has been invalidated")]
    Invalidated,
    /// The bound object was recreated.
    #[error("{kind} UID ({current}) does not match service account {kind} ref claim ({claimed})")]
    BoundUid {
        /// `pod`, `secret` or `node`.
        kind: &'static str,
        /// The uid it has now.
        current: String,
        /// The uid in the token.
        claimed: String,
    },
}

/// Who a standing token authenticates (upstream `ServiceAccountInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAccountInfo {
    /// Namespace.
    pub namespace: String,
    /// Service account name.
    pub name: String,
    /// Service account uid.
    pub uid: String,
    /// Bound pod, when there is one.
    pub pod: Option<(String, String)>,
    /// Bound node or the pod's node: its name, and uid when known.
    pub node: Option<(String, String)>,
    /// The token id.
    pub jti: String,
}

impl ServiceAccountInfo {
    /// The user: `system:serviceaccount:<ns>:<name>` with the service account's uid, groups
    /// `system:serviceaccounts` and `system:serviceaccounts:<ns>`, and as extra the credential
    /// id and the bound pod and node (upstream `ServiceAccountInfo.UserInfo`).
    pub fn user(&self) -> User {
        let groups = vec!["system:serviceaccounts".to_string(), format!("system:serviceaccounts:{}", self.namespace)];
        let mut user = User::new(username(&self.namespace, &self.name), groups).with_uid(&self.uid);
        if let Some((name, uid)) = self.pod.as_ref().filter(|(name, uid)| !name.is_empty() && !uid.is_empty()) {
            user = user.with_extra(POD_NAME_KEY, name).with_extra(POD_UID_KEY, uid);
        }
        if !self.jti.is_empty() {
            user = user.with_extra(CREDENTIAL_ID_KEY, &format!("JTI={}", self.jti));
        }
        if let Some((name, uid)) = self.node.as_ref().filter(|(name, _)| !name.is_empty()) {
            user = user.with_extra(NODE_NAME_KEY, name);
            if !uid.is_empty() {
                user = user.with_extra(NODE_UID_KEY, uid);
            }
        }
        user
    }
}

/// Checks `claims` at `now` (seconds since the epoch) against the objects they name.
pub async fn validate(claims: &Claims, now: i64, objects: &TokenObjects) -> Result<ServiceAccountInfo, Invalid> {
    claims.check_time(now)?;
    let private = &claims.kubernetes;
    let namespace = private.namespace.as_str();
    let account_ref = &private.serviceaccount;
    let account = objects
        .get(ObjectKind::ServiceAccount, namespace, &account_ref.name)
        .await
        .map_err(|err| Invalid::ServiceAccount(err.to_string()))?;
    if uid(&account) != account_ref.uid {
        return Err(Invalid::ServiceAccountUid { current: uid(&account).into(), claimed: account_ref.uid.clone() });
    }
    if deleted_before_leeway(&account, now) {
        return Err(Invalid::ServiceAccountDeleted { namespace: namespace.into(), name: account_ref.name.clone() });
    }
    let bound = [("secret", ObjectKind::Secret, &private.secret), ("pod", ObjectKind::Pod, &private.pod)];
    for (label, kind, reference) in bound {
        let Some(reference) = reference else { continue };
        check_bound(objects, label, kind, namespace, &reference.name, &reference.uid, now).await?;
    }
    let mut info = ServiceAccountInfo {
        namespace: namespace.into(),
        name: account_ref.name.clone(),
        uid: account_ref.uid.clone(),
        pod: private.pod.as_ref().map(|pod| (pod.name.clone(), pod.uid.clone())),
        node: None,
        jti: claims.jti.clone(),
    };
    if let Some(node) = &private.node {
        // A pod-bound token carries its pod's node for information only; a node-bound one
        // stands only as long as that node.
        if private.pod.is_none() {
            check_bound(objects, "node", ObjectKind::Node, "", &node.name, &node.uid, now).await?;
        }
        info.node = Some((node.name.clone(), node.uid.clone()));
    }
    Ok(info)
}

/// The bound object `name` still exists with `claimed_uid` and is not being deleted.
async fn check_bound(
    objects: &TokenObjects,
    label: &'static str,
    kind: ObjectKind,
    namespace: &str,
    name: &str,
    claimed_uid: &str,
    now: i64,
) -> Result<(), Invalid> {
    let object = objects.get(kind, namespace, name).await.map_err(|_| Invalid::Invalidated)?;
    if uid(&object) != claimed_uid {
        return Err(Invalid::BoundUid { kind: label, current: uid(&object).into(), claimed: claimed_uid.into() });
    }
    if deleted_before_leeway(&object, now) {
        return Err(Invalid::Invalidated);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_of_a_pod_bound_token() {
        let info = ServiceAccountInfo {
            namespace: "ns".into(),
            name: "robot".into(),
            uid: "sa-uid".into(),
            pod: Some(("p".into(), "pod-uid".into())),
            node: Some(("n1".into(), String::new())),
            jti: "id".into(),
        };
        let user = info.user();
        assert_eq!(user.name, "system:serviceaccount:ns:robot");
        assert_eq!(user.uid, "sa-uid");
        assert_eq!(user.groups, ["system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"]);
        let extra: Vec<(&str, &[String])> = user.extra.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
        assert_eq!(
            extra,
            [
                (CREDENTIAL_ID_KEY, &["JTI=id".to_string()][..]),
                (NODE_NAME_KEY, &["n1".to_string()][..]),
                (POD_NAME_KEY, &["p".to_string()][..]),
                (POD_UID_KEY, &["pod-uid".to_string()][..]),
            ]
        );
    }
}
