//! Authentication: x509 client certificates signed by the cluster CA (rustls has verified the
//! chain; the user is the subject's CN, the groups its O values), static bearer tokens (the
//! admin token), and service account tokens (`serviceaccount_token`), in that order, like
//! upstream's union of authenticators. Everything authenticated is `system:authenticated`; no
//! credentials means 401.
//!
//! Audiences: static tokens are audience-agnostic (they serve the API server's own audiences);
//! a service account token serves the audiences it names. A request to the API asks for the
//! API server's audiences; a TokenReview may ask for others.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};

use crate::serviceaccount_token::{DEFAULT_ISSUER, ServiceAccountTokens, TokenObjects, intersect};

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User name.
    pub name: String,
    /// UID ("" when the credential has none).
    pub uid: String,
    /// Groups, `system:authenticated` included.
    pub groups: Vec<String>,
    /// Extra attributes (the credential id, the pod of a bound token).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl User {
    /// `name` in `groups` and `system:authenticated`.
    pub fn new(name: impl Into<String>, mut groups: Vec<String>) -> Self {
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        Self { name: name.into(), uid: String::new(), groups, extra: BTreeMap::new() }
    }

    /// With this UID.
    pub fn with_uid(mut self, uid: &str) -> Self {
        self.uid = uid.to_string();
        self
    }

    /// With `value` added to extra attribute `key`.
    pub fn with_extra(mut self, key: &str, value: &str) -> Self {
        self.extra.entry(key.to_string()).or_default().push(value.to_string());
        self
    }

    /// As an `authentication.k8s.io/v1 UserInfo`: username, uid, groups, extra (the empty
    /// ones left out, as upstream's `omitempty`).
    pub fn user_info(&self) -> Value {
        let mut info = json!({"username": self.name, "groups": self.groups});
        if !self.uid.is_empty() {
            info["uid"] = json!(self.uid);
        }
        if !self.extra.is_empty() {
            info["extra"] = json!(self.extra);
        }
        info
    }
}

/// What a TokenReview learns about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenReviewOutcome {
    /// The user, when the token authenticates.
    pub user: Option<User>,
    /// The audiences asked for that the token serves.
    pub audiences: Vec<String>,
    /// Why it does not authenticate.
    pub error: Option<String>,
}

/// Maps credentials to users.
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: HashMap<String, User>,
    service_accounts: Option<Arc<ServiceAccountTokens>>,
    /// The audiences the API server identifies as.
    api_audiences: Vec<String>,
}

impl Authenticator {
    /// An authenticator that knows the admin token.
    pub fn new(admin_token: &str) -> Self {
        let mut tokens = HashMap::new();
        tokens.insert(admin_token.to_string(), User::new("kubernetes-admin", vec!["system:masters".into()]));
        Self { tokens, service_accounts: None, api_audiences: vec![DEFAULT_ISSUER.to_string()] }
    }

    /// Also authenticates (and issues) service account tokens; the API audiences become theirs.
    pub fn with_service_account_tokens(mut self, tokens: ServiceAccountTokens) -> Self {
        self.api_audiences = tokens.options().api_audiences.clone();
        self.service_accounts = Some(Arc::new(tokens));
        self
    }

    /// The service account tokens, when this server issues them.
    pub fn service_account_tokens(&self) -> Option<&ServiceAccountTokens> {
        self.service_accounts.as_deref()
    }

    /// Adds a static token.
    pub fn add_token(&mut self, token: &str, user: &str, groups: Vec<String>) {
        self.tokens.insert(token.to_string(), User::new(user, groups));
    }

    /// The user behind a request: its verified client certificate, else its bearer token.
    /// `objects` are read to check that a service account token still stands.
    pub async fn authenticate(
        &self,
        client_cert: Option<&CertificateDer<'_>>,
        authorization: Option<&str>,
        objects: &TokenObjects,
    ) -> Option<User> {
        if let Some(user) = client_cert.and_then(user_from_certificate) {
            return Some(user);
        }
        // The scheme is case-insensitive; an empty token is never valid.
        let (scheme, token) = authorization?.split_once(' ')?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return None;
        }
        // Static tokens first: one map lookup, no signature check.
        if let Some(user) = self.tokens.get(token) {
            return Some(user.clone());
        }
        match self.authenticate_token(token, &self.api_audiences, objects).await {
            Ok(Some((user, _))) => Some(user),
            Ok(None) => None,
            Err(error) => {
                tracing::debug!(%error, "bearer token refused");
                None
            }
        }
    }

    /// A TokenReview of `token` for `audiences` (the API server's when empty), as upstream's
    /// `tokenreview` storage answers it: a token that authenticates nobody without saying why
    /// is an `invalid bearer token`.
    pub async fn review(&self, token: &str, audiences: &[String], objects: &TokenObjects) -> TokenReviewOutcome {
        let target = if audiences.is_empty() { &self.api_audiences } else { audiences };
        match self.authenticate_token(token, target, objects).await {
            Ok(Some((user, audiences))) => TokenReviewOutcome { user: Some(user), audiences, error: None },
            Ok(None) => {
                TokenReviewOutcome { user: None, audiences: vec![], error: Some("invalid bearer token".into()) }
            }
            Err(error) => TokenReviewOutcome { user: None, audiences: vec![], error: Some(error) },
        }
    }

    /// The union of the token authenticators for the `target` audiences: the user and the
    /// audiences served, `Ok(None)` when no authenticator knows the token, or the reason one
    /// that knows it refuses it.
    async fn authenticate_token(
        &self,
        token: &str,
        target: &[String],
        objects: &TokenObjects,
    ) -> Result<Option<(User, Vec<String>)>, String> {
        if let Some(user) = self.tokens.get(token) {
            let audiences = intersect(&self.api_audiences, target);
            return Ok((!audiences.is_empty()).then(|| (user.clone(), audiences)));
        }
        let Some(service_accounts) = &self.service_accounts else { return Ok(None) };
        let now = jiff::Timestamp::now().as_second();
        match service_accounts.authenticate(token, target, now, objects).await {
            Ok(authenticated) => Ok(authenticated.map(|a| (a.user, a.audiences))),
            Err(error) => Err(error.to_string()),
        }
    }
}

/// `CN` is the user, each `O` a group (upstream's x509 authenticator).
fn user_from_certificate(der: &CertificateDer<'_>) -> Option<User> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let subject = cert.subject();
    let name = subject.iter_common_name().next()?.as_str().ok()?.to_string();
    let groups = subject.iter_organization().filter_map(|o| o.as_str().ok().map(str::to_string)).collect();
    Some(User::new(name, groups))
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject;

    use super::*;
    use crate::serviceaccount_token::tests::objects_with_robot;
    use crate::serviceaccount_token::{Binding, Claims, Lifetime, ObjectRef, TokenOptions};
    use crate::tls::Pki;

    #[tokio::test]
    async fn admin_certificate_and_token_authenticate() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::load_or_create(dir.path(), &[]).unwrap();
        let authn = Authenticator::new(&pki.admin_token);
        let objects = TokenObjects::default();
        let cert = CertificateDer::from_pem_slice(pki.admin_cert.as_bytes()).unwrap();
        let by_cert = authn.authenticate(Some(&cert), None, &objects).await.unwrap();
        assert_eq!(by_cert.name, "kubernetes-admin");
        assert_eq!(by_cert.groups, vec!["system:masters", "system:authenticated"]);
        let header = format!("Bearer {}", pki.admin_token);
        assert_eq!(authn.authenticate(None, Some(&header), &objects).await.unwrap().name, "kubernetes-admin");
        assert!(authn.authenticate(None, Some("Bearer wrong"), &objects).await.is_none());
        assert!(authn.authenticate(None, Some("Bearer "), &objects).await.is_none());
        let lower = format!("bearer {}", pki.admin_token);
        assert!(authn.authenticate(None, Some(&lower), &objects).await.is_some());
        assert!(authn.authenticate(None, None, &objects).await.is_none());
    }

    #[tokio::test]
    async fn service_account_tokens_authenticate_and_review_with_audiences() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::load_or_create(dir.path(), &[]).unwrap();
        let tokens = ServiceAccountTokens::new(&pki.service_account_key, TokenOptions::default()).unwrap();
        let (_registries, objects, uid) = objects_with_robot().await;
        let now = jiff::Timestamp::now().as_second();
        let lifetime = Lifetime { now, expiration_seconds: 600, warn_after_seconds: None };
        let claims = Claims::new(
            DEFAULT_ISSUER,
            "default",
            ObjectRef::new("robot", &uid),
            Binding::None,
            vec![DEFAULT_ISSUER.into(), "vault".into()],
            lifetime,
        );
        let token = tokens.sign(&claims).unwrap();
        let authn = Authenticator::new(&pki.admin_token).with_service_account_tokens(tokens);
        let user = authn.authenticate(None, Some(&format!("Bearer {token}")), &objects).await.unwrap();
        assert_eq!((user.name.as_str(), user.uid.as_str()), ("system:serviceaccount:default:robot", uid.as_str()));
        assert_eq!(
            user.user_info()["extra"],
            json!({"authentication.kubernetes.io/credential-id": [format!("JTI={}", claims.jti)]})
        );

        let reviewed = authn.review(&token, &[], &objects).await;
        assert_eq!(reviewed.user.as_ref(), Some(&user));
        assert_eq!(reviewed.audiences, [DEFAULT_ISSUER]);
        let vault = authn.review(&token, &["vault".into(), "other".into()], &objects).await;
        assert_eq!(vault.audiences, ["vault"]);
        let other = authn.review(&token, &["other".into()], &objects).await;
        assert!(other.user.is_none());
        assert!(other.error.unwrap().starts_with("token audiences"));
        // Static tokens serve only the API server's audiences.
        let admin = authn.review(&pki.admin_token, &[], &objects).await;
        assert_eq!(admin.audiences, [DEFAULT_ISSUER]);
        let admin_elsewhere = authn.review(&pki.admin_token, &["vault".into()], &objects).await;
        assert_eq!(admin_elsewhere.error.as_deref(), Some("invalid bearer token"));
        let bogus = authn.review("not-a-token", &[], &objects).await;
        assert_eq!((bogus.user, bogus.error.as_deref()), (None, Some("invalid bearer token")));
    }
}
