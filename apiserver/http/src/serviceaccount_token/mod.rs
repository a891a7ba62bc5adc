//! Service account tokens, as upstream's API server issues and authenticates them:
//!
//! ```text
//! request.rs   POST .../serviceaccounts/{name}/token (TokenRequest) → claims.rs → jwt.rs (ES256)
//! mod.rs       bearer token → jwt.rs (signature) → issuer, audiences → validate.rs → User
//! objects.rs   the service accounts, pods, secrets and nodes both sides read
//! ```
//!
//! The signing key is the PKI's (`tls.rs`, `<data-dir>/pki/sa.key`). A token authenticates while
//! it is in its time window, names our issuer and an audience the server accepts, and its
//! service account (and bound object) still exists with the uid it names.

mod claims;
mod jwt;
mod objects;
mod request;
mod validate;

pub use claims::{Binding, Claims, KubernetesClaims, Lifetime, ObjectRef, TimeError};
pub use jwt::{JwtError, KeyError, SigningKey};
pub use objects::{ObjectKind, TokenObjects};
pub(crate) use request::create_token;
pub use validate::{CREDENTIAL_ID_KEY, Invalid, NODE_NAME_KEY, NODE_UID_KEY, POD_NAME_KEY, POD_UID_KEY};

use crate::authn::User;

/// Upstream's usual issuer (`--service-account-issuer`), and so the default API audience.
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// How tokens are issued and which ones are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOptions {
    /// `iss` of issued tokens; the only issuer accepted.
    pub issuer: String,
    /// Audiences the API server identifies as (`--api-audiences`): issued tokens default to
    /// them, and a token authenticates requests only if it names one of them.
    pub api_audiences: Vec<String>,
    /// Longest lifetime granted (`--service-account-max-token-expiration`); longer requests
    /// are shortened with a warning. Uncapped when `None`.
    pub max_expiration_seconds: Option<i64>,
}

impl Default for TokenOptions {
    fn default() -> Self {
        Self { issuer: DEFAULT_ISSUER.into(), api_audiences: vec![DEFAULT_ISSUER.into()], max_expiration_seconds: None }
    }
}

impl TokenOptions {
    /// Options for `issuer`, the API audiences (the issuer when none are given) and the
    /// maximum lifetime in seconds (none when 0).
    pub fn new(issuer: &str, api_audiences: &[String], max_expiration_seconds: i64) -> Self {
        let api_audiences: Vec<String> = api_audiences.iter().filter(|a| !a.is_empty()).cloned().collect();
        Self {
            issuer: issuer.to_string(),
            api_audiences: if api_audiences.is_empty() { vec![issuer.to_string()] } else { api_audiences },
            max_expiration_seconds: (max_expiration_seconds > 0).then_some(max_expiration_seconds),
        }
    }
}

/// Parses `--service-account-max-token-expiration`: a Go duration (`48h`, `1h30m`) between an
/// hour and 2^32 seconds, in seconds; 0 for no maximum (upstream's bounds).
pub fn parse_max_expiration(text: &str) -> Result<i64, String> {
    let seconds = crate::resource_metrics::go_duration_seconds(text)
        .ok_or_else(|| format!("not a duration (like 48h, 1h30m): {text}"))?;
    #[allow(clippy::cast_possible_truncation, reason = "bounded just below")]
    let seconds = seconds.round() as i64;
    if seconds != 0 && !(3600..=1 << 32).contains(&seconds) {
        return Err("the service-account-max-token-expiration must be between 1 hour and 2^32 seconds".into());
    }
    Ok(seconds)
}

/// Why a token that names our issuer does not authenticate (the TokenReview `error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not signed by our key (or not a well-formed JWS).
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// Signed, but the claims are not a service account token's.
    #[error("service account token claims could not be decoded")]
    Claims,
    /// An issuer we do not accept.
    #[error("token issuer {0:?} is invalid")]
    Issuer(String),
    /// No audience in common with the ones asked for.
    #[error("token audiences {} is invalid for the target audiences {}", go_quoted(.token), go_quoted(.target))]
    Audience {
        /// The token's audiences.
        token: Vec<String>,
        /// The audiences asked for.
        target: Vec<String>,
    },
    /// The token no longer stands.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

/// A list as Go's `%q` prints a `[]string`: `["a" "b"]`.
fn go_quoted(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| serde_json::to_string(v).expect("strings serialise")).collect();
    format!("[{}]", quoted.join(" "))
}

/// Who a token authenticates, and for which of the audiences asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The service account's user.
    pub user: User,
    /// The audiences of the token that were asked for.
    pub audiences: Vec<String>,
}

/// Issues and verifies service account tokens with one signing key.
#[derive(Debug)]
pub struct ServiceAccountTokens {
    key: SigningKey,
    options: TokenOptions,
}

impl ServiceAccountTokens {
    /// Tokens signed with the PEM (PKCS#8, ECDSA P-256) key `key_pem`.
    pub fn new(key_pem: &str, options: TokenOptions) -> Result<Self, KeyError> {
        Ok(Self { key: SigningKey::from_pem(key_pem)?, options })
    }

    /// The options in force.
    pub fn options(&self) -> &TokenOptions {
        &self.options
    }

    /// Signs `claims`.
    pub fn sign(&self, claims: &Claims) -> Result<String, JwtError> {
        self.key.sign(&serde_json::to_value(claims).expect("claims serialise"))
    }

    /// Authenticates `token` for the `target` audiences at `now` (seconds since the epoch)
    /// (upstream `jwtTokenAuthenticator.AuthenticateToken`): `Ok(None)` for a token that is not
    /// ours to judge (not a JWT, or another issuer), an error for one of ours that does not
    /// stand.
    pub async fn authenticate(
        &self,
        token: &str,
        target: &[String],
        now: i64,
        objects: &TokenObjects,
    ) -> Result<Option<Authenticated>, TokenError> {
        let issuer =
            jwt::unverified_claims(token).and_then(|c| c.get("iss").and_then(|i| i.as_str()).map(String::from));
        if issuer.as_deref() != Some(self.options.issuer.as_str()) {
            return Ok(None);
        }
        let claims: Claims = serde_json::from_value(self.key.verify(token)?).map_err(|_| TokenError::Claims)?;
        if claims.iss != self.options.issuer {
            return Err(TokenError::Issuer(claims.iss));
        }
        // Tokens without audiences (legacy secret tokens) are for the API server only.
        let token_audiences =
            if claims.aud.is_empty() { self.options.api_audiences.clone() } else { claims.aud.clone() };
        let audiences = intersect(&token_audiences, target);
        if audiences.is_empty() && !self.options.api_audiences.is_empty() {
            return Err(TokenError::Audience { token: token_audiences, target: target.to_vec() });
        }
        let info = validate::validate(&claims, now, objects).await?;
        Ok(Some(Authenticated { user: info.user(), audiences }))
    }
}

/// The members of `ours` that `theirs` has too, in `ours`' order (upstream `Audiences.Intersect`).
pub fn intersect(ours: &[String], theirs: &[String]) -> Vec<String> {
    ours.iter().filter(|a| theirs.contains(a)).cloned().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use apiserver_registry::{Registry, WriteOptions, resources};
    use apiserver_store::{MemoryStore, Store, StoreOptions};
    use serde_json::json;

    use super::*;

    /// Registries over an in-memory store, with service account `default/robot`; its uid.
    pub(crate) async fn objects_with_robot() -> (Vec<Registry>, TokenObjects, String) {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::in_memory(StoreOptions::default()));
        let registries: Vec<Registry> = resources::all().into_iter().map(|s| Registry::new(s, store.clone())).collect();
        let by_plural = |plural: &str| registries.iter().find(|r| r.resource().plural == plural).unwrap().clone();
        by_plural("namespaces")
            .create(None, json!({"metadata": {"name": "default"}}), WriteOptions::default())
            .await
            .unwrap();
        let account = by_plural("serviceaccounts")
            .create(Some("default"), json!({"metadata": {"name": "robot"}}), WriteOptions::default())
            .await
            .unwrap();
        let uid = objects::uid(&account).to_string();
        let objects = TokenObjects::new(&registries);
        (registries, objects, uid)
    }

    pub(crate) fn tokens() -> ServiceAccountTokens {
        ServiceAccountTokens::new(&jwt::tests::new_key_pem(), TokenOptions::default()).unwrap()
    }

    fn robot_claims(uid: &str, audiences: &[&str], now: i64, expiration_seconds: i64) -> Claims {
        let lifetime = Lifetime { now, expiration_seconds, warn_after_seconds: None };
        let audiences = audiences.iter().map(|a| a.to_string()).collect();
        Claims::new(DEFAULT_ISSUER, "default", ObjectRef::new("robot", uid), Binding::None, audiences, lifetime)
    }

    fn api() -> Vec<String> {
        vec![DEFAULT_ISSUER.to_string()]
    }

    #[test]
    fn options_default_the_audiences_to_the_issuer_and_parse_the_maximum() {
        let options = TokenOptions::new("https://issuer", &[], 0);
        assert_eq!((options.api_audiences, options.max_expiration_seconds), (vec!["https://issuer".into()], None));
        let options = TokenOptions::new("https://issuer", &["api".into(), "other".into()], 7200);
        assert_eq!((options.api_audiences.len(), options.max_expiration_seconds), (2, Some(7200)));
        assert_eq!(parse_max_expiration("48h"), Ok(48 * 3600));
        assert_eq!(parse_max_expiration("1h30m"), Ok(5400));
        assert_eq!(parse_max_expiration("0"), Ok(0));
        assert!(parse_max_expiration("59m").is_err());
        assert!(parse_max_expiration("soon").is_err());
    }

    #[tokio::test]
    async fn a_signed_token_authenticates_its_service_account() {
        let (_registries, objects, uid) = objects_with_robot().await;
        let tokens = tokens();
        let now = jiff::Timestamp::now().as_second();
        let claims = robot_claims(&uid, &[DEFAULT_ISSUER, "vault"], now, 600);
        let token = tokens.sign(&claims).unwrap();
        let authenticated = tokens.authenticate(&token, &api(), now, &objects).await.unwrap().unwrap();
        assert_eq!(authenticated.audiences, [DEFAULT_ISSUER]);
        assert_eq!(authenticated.user.name, "system:serviceaccount:default:robot");
        assert_eq!(authenticated.user.uid, uid);
        assert_eq!(authenticated.user.extra[CREDENTIAL_ID_KEY], [format!("JTI={}", claims.jti)]);
        // Another audience the token names.
        let vault = tokens.authenticate(&token, &["vault".into()], now, &objects).await.unwrap().unwrap();
        assert_eq!(vault.audiences, ["vault"]);
    }

    #[tokio::test]
    async fn expired_wrong_audience_and_forged_tokens_fail() {
        let (_registries, objects, uid) = objects_with_robot().await;
        let tokens = tokens();
        let now = jiff::Timestamp::now().as_second();
        let expired = tokens.sign(&robot_claims(&uid, &[DEFAULT_ISSUER], now - 7200, 3600)).unwrap();
        assert_eq!(
            tokens.authenticate(&expired, &api(), now, &objects).await,
            Err(TokenError::Invalid(Invalid::Time(TimeError::Expired)))
        );
        let vault_only = tokens.sign(&robot_claims(&uid, &["vault"], now, 600)).unwrap();
        let err = tokens.authenticate(&vault_only, &api(), now, &objects).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"token audiences ["vault"] is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]"#
        );
        // Signed by another server's key.
        let forged = self::tokens().sign(&robot_claims(&uid, &[DEFAULT_ISSUER], now, 600)).unwrap();
        let err = tokens.authenticate(&forged, &api(), now, &objects).await.unwrap_err();
        assert_eq!(err, TokenError::Jwt(JwtError::Signature));
        // The service account recreated under the same name.
        let stale = tokens.sign(&robot_claims("old-uid", &[DEFAULT_ISSUER], now, 600)).unwrap();
        let err = tokens.authenticate(&stale, &api(), now, &objects).await.unwrap_err();
        assert_eq!(err.to_string(), format!("service account UID ({uid}) does not match claim (old-uid)"));
    }

    #[tokio::test]
    async fn tokens_of_other_issuers_or_not_jwts_are_not_ours_to_judge() {
        let (_registries, objects, uid) = objects_with_robot().await;
        let tokens = tokens();
        let now = jiff::Timestamp::now().as_second();
        let mut claims = robot_claims(&uid, &[DEFAULT_ISSUER], now, 600);
        claims.iss = "https://elsewhere".into();
        let foreign = tokens.sign(&claims).unwrap();
        assert_eq!(tokens.authenticate(&foreign, &api(), now, &objects).await, Ok(None));
        assert_eq!(tokens.authenticate("0123456789abcdef", &api(), now, &objects).await, Ok(None));
    }

    #[tokio::test]
    async fn a_deleted_service_account_or_bound_pod_ends_the_token() {
        let (registries, objects, uid) = objects_with_robot().await;
        let by_plural = |plural: &str| registries.iter().find(|r| r.resource().plural == plural).unwrap().clone();
        let pod = json!({"metadata": {"name": "p"}, "spec": {"serviceAccountName": "robot",
                         "containers": [{"name": "c", "image": "nginx"}]}});
        let pod = by_plural("pods").create(Some("default"), pod, WriteOptions::default()).await.unwrap();
        let tokens = tokens();
        let now = jiff::Timestamp::now().as_second();
        let mut claims = robot_claims(&uid, &[DEFAULT_ISSUER], now, 600);
        claims.kubernetes.pod = Some(ObjectRef::new("p", objects::uid(&pod)));
        let token = tokens.sign(&claims).unwrap();
        let user = tokens.authenticate(&token, &api(), now, &objects).await.unwrap().unwrap().user;
        assert_eq!(user.extra[POD_NAME_KEY], ["p"]);
        assert_eq!(user.extra[POD_UID_KEY], [objects::uid(&pod)]);
        by_plural("pods").delete(Some("default"), "p", &Default::default()).await.unwrap();
        let err = tokens.authenticate(&token, &api(), now, &objects).await.unwrap_err();
        assert_eq!(err.to_string(), "service account token has been invalidated");

        let unbound = tokens.sign(&robot_claims(&uid, &[DEFAULT_ISSUER], now, 600)).unwrap();
        by_plural("serviceaccounts").delete(Some("default"), "robot", &Default::default()).await.unwrap();
        let err = tokens.authenticate(&unbound, &api(), now, &objects).await.unwrap_err();
        assert_eq!(err.to_string(), "serviceaccounts \"robot\" not found");
    }
}
