//! The claims of a service account token (upstream `pkg/serviceaccount/claims.go`): the
//! registered ones (`iss`, `sub`, `aud`, `exp`, `iat`, `nbf`, `jti`) and the private
//! `kubernetes.io` claim naming the service account and the object the token is bound to.

use serde::{Deserialize, Deserializer, Serialize};

/// The expiration kubelets ask for projected tokens: a pod-bound token requested with exactly
/// this lifetime (and only API server audiences) gets [`EXPIRATION_EXTENSION_SECONDS`] instead,
/// with `warnafter` at the requested time (upstream's safe rollout of time-bound tokens).
pub const WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS: i64 = 60 * 60 + 7;
/// The extended lifetime of such tokens: one year.
pub const EXPIRATION_EXTENSION_SECONDS: i64 = 24 * 365 * 60 * 60;
/// Clock skew tolerated when checking `exp`, `nbf` and `iat` (go-jose's default leeway).
pub const LEEWAY_SECONDS: i64 = 60;

/// A token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer (`--service-account-issuer`).
    pub iss: String,
    /// `system:serviceaccount:<namespace>:<name>`.
    pub sub: String,
    /// Audiences; a JWT may carry one as a plain string.
    #[serde(default, deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Token id (a random UUID): the credential id of the requests it authenticates.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    /// The private claim.
    #[serde(rename = "kubernetes.io", default)]
    pub kubernetes: KubernetesClaims,
}

/// The `kubernetes.io` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesClaims {
    /// The service account's namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The service account.
    #[serde(default)]
    pub serviceaccount: ObjectRef,
    /// The pod a token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<ObjectRef>,
    /// The secret a token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<ObjectRef>,
    /// The node a token is bound to, or the node of the pod it is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<ObjectRef>,
    /// When a token with an extended lifetime should have expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnafter: Option<i64>,
}

/// An object by name and uid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

impl ObjectRef {
    /// A reference to `name` with `uid`.
    pub fn new(name: impl Into<String>, uid: impl Into<String>) -> Self {
        Self { name: name.into(), uid: uid.into() }
    }
}

/// What a token is bound to besides its service account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Binding {
    /// Nothing: the token lives as long as its service account (and its expiry).
    #[default]
    None,
    /// A pod, with the node it runs on when it is scheduled (the node's uid when it exists).
    Pod {
        /// The pod.
        pod: ObjectRef,
        /// Its node.
        node: Option<ObjectRef>,
    },
    /// A secret.
    Secret(ObjectRef),
    /// A node.
    Node(ObjectRef),
}

/// The service account's user name (upstream `MakeUsername`).
pub fn username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// Why a token is outside its time window (upstream's messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Before `nbf`.
    #[error("service account token is not valid yet")]
    NotValidYet,
    /// After `exp`.
    #[error("service account token has expired")]
    Expired,
    /// `iat` in the future.
    #[error("service account token is issued in the future")]
    IssuedInTheFuture,
}

/// The lifetime of a token: when it is issued and for how long, and when it should have
/// expired if its lifetime was extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Issue time (seconds since the epoch).
    pub now: i64,
    /// Seconds until `exp`.
    pub expiration_seconds: i64,
    /// Seconds until `warnafter`, for tokens with an extended lifetime.
    pub warn_after_seconds: Option<i64>,
}

impl Claims {
    /// The claims of a new token for service account `account` in `namespace` (upstream
    /// `Claims`): subject, audiences, issue/not-before/expiry times, a fresh id, and the
    /// private claim with the binding.
    pub fn new(
        issuer: &str,
        namespace: &str,
        account: ObjectRef,
        binding: Binding,
        audiences: Vec<String>,
        lifetime: Lifetime,
    ) -> Self {
        let mut kubernetes = KubernetesClaims {
            namespace: namespace.to_string(),
            warnafter: lifetime.warn_after_seconds.map(|warn| lifetime.now + warn),
            ..KubernetesClaims::default()
        };
        match binding {
            Binding::None => {}
            Binding::Pod { pod, node } => {
                kubernetes.pod = Some(pod);
                kubernetes.node = node;
            }
            Binding::Secret(secret) => kubernetes.secret = Some(secret),
            Binding::Node(node) => kubernetes.node = Some(node),
        }
        let sub = username(namespace, &account.name);
        kubernetes.serviceaccount = account;
        Self {
            iss: issuer.to_string(),
            sub,
            aud: audiences,
            exp: lifetime.now + lifetime.expiration_seconds,
            iat: lifetime.now,
            nbf: lifetime.now,
            jti: uuid::Uuid::new_v4().to_string(),
            kubernetes,
        }
    }

    /// Whether `now` is inside the token's window, with [`LEEWAY_SECONDS`] either side
    /// (go-jose's checks, in its order).
    pub fn check_time(&self, now: i64) -> Result<(), TimeError> {
        if now + LEEWAY_SECONDS < self.nbf {
            return Err(TimeError::NotValidYet);
        }
        if now - LEEWAY_SECONDS > self.exp {
            return Err(TimeError::Expired);
        }
        if now + LEEWAY_SECONDS < self.iat {
            return Err(TimeError::IssuedInTheFuture);
        }
        Ok(())
    }
}

/// `aud` as a list whether the token wrote one string or several.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lifetime(expiration_seconds: i64) -> Lifetime {
        Lifetime { now: 1_000_000, expiration_seconds, warn_after_seconds: None }
    }

    #[test]
    fn claims_of_an_unbound_token_have_upstreams_shape() {
        let account = ObjectRef::new("robot", "sa-uid");
        let audiences = vec!["https://kubernetes.default.svc.cluster.local".to_string()];
        let claims = Claims::new("https://issuer", "default", account, Binding::None, audiences, lifetime(3600));
        let mut value = serde_json::to_value(&claims).unwrap();
        let jti = value.as_object_mut().unwrap().remove("jti").unwrap();
        assert_eq!(uuid::Uuid::parse_str(jti.as_str().unwrap()).unwrap().get_version_num(), 4);
        assert_eq!(
            value,
            json!({
                "iss": "https://issuer",
                "sub": "system:serviceaccount:default:robot",
                "aud": ["https://kubernetes.default.svc.cluster.local"],
                "exp": 1_003_600, "iat": 1_000_000, "nbf": 1_000_000,
                "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "robot", "uid": "sa-uid"}},
            })
        );
        let again = Claims::new("i", "default", ObjectRef::new("robot", "u"), Binding::None, vec![], lifetime(600));
        assert_ne!(claims.jti, again.jti, "every token gets its own id");
    }

    #[test]
    fn bound_claims_name_the_object_and_warnafter_only_when_extended() {
        let pod = Binding::Pod { pod: ObjectRef::new("p", "pod-uid"), node: Some(ObjectRef::new("n1", "")) };
        let extended = Lifetime {
            now: 100,
            expiration_seconds: EXPIRATION_EXTENSION_SECONDS,
            warn_after_seconds: Some(WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS),
        };
        let claims = Claims::new("i", "ns", ObjectRef::new("robot", "u"), pod, vec!["a".into()], extended);
        let private = serde_json::to_value(&claims.kubernetes).unwrap();
        assert_eq!(
            private,
            json!({"namespace": "ns", "serviceaccount": {"name": "robot", "uid": "u"},
                   "pod": {"name": "p", "uid": "pod-uid"}, "node": {"name": "n1"}, "warnafter": 3707})
        );
        assert_eq!(claims.exp, 100 + EXPIRATION_EXTENSION_SECONDS);
        let secret = Binding::Secret(ObjectRef::new("s", "secret-uid"));
        let claims = Claims::new("i", "ns", ObjectRef::new("robot", "u"), secret, vec![], lifetime(600));
        let private = serde_json::to_value(&claims.kubernetes).unwrap();
        assert_eq!(private["secret"], json!({"name": "s", "uid": "secret-uid"}));
        assert!(private.get("warnafter").is_none() && private.get("pod").is_none(), "{private}");
        let node = Binding::Node(ObjectRef::new("n1", "node-uid"));
        let claims = Claims::new("i", "ns", ObjectRef::new("robot", "u"), node, vec![], lifetime(600));
        assert_eq!(claims.kubernetes.node, Some(ObjectRef::new("n1", "node-uid")));
    }

    #[test]
    fn time_window_has_a_minute_of_leeway() {
        let claims = Claims::new("i", "ns", ObjectRef::new("robot", "u"), Binding::None, vec![], lifetime(600));
        assert_eq!(claims.check_time(1_000_000), Ok(()));
        assert_eq!(claims.check_time(1_000_600 + LEEWAY_SECONDS), Ok(()));
        assert_eq!(claims.check_time(1_000_600 + LEEWAY_SECONDS + 1), Err(TimeError::Expired));
        assert_eq!(claims.check_time(1_000_000 - LEEWAY_SECONDS), Ok(()));
        assert_eq!(claims.check_time(1_000_000 - LEEWAY_SECONDS - 1), Err(TimeError::NotValidYet));
        assert_eq!(TimeError::Expired.to_string(), "service account token has expired");
    }

    #[test]
    fn a_single_audience_string_reads_as_a_list() {
        let claims: Claims = serde_json::from_value(json!({
            "iss": "i", "sub": "s", "aud": "one", "exp": 2, "iat": 1, "nbf": 1,
        }))
        .unwrap();
        assert_eq!(claims.aud, ["one"]);
        assert_eq!(claims.kubernetes, KubernetesClaims::default());
    }
}
