//! Reviews: virtual resources answered from the request itself, never stored.
//! `SelfSubjectReview` (`kubectl auth whoami`) reports the caller; `SelfSubjectAccessReview`
//! (`kubectl auth can-i`) says yes to every authenticated user until RBAC enforcement lands, and
//! `SelfSubjectRulesReview` (`kubectl auth can-i --list`) lists the matching rules: every verb on
//! every resource and every non-resource URL. `TokenReview` says whom a bearer token
//! authenticates (what webhook authenticators and aggregated servers ask), for the audiences the
//! review names (the API server's when none), as upstream's `tokenreview` storage answers.

use apiserver_machinery::ApiError;
use serde_json::{Value, json};

use crate::authn::{Authenticator, User};
use crate::request_info::{RequestInfo, Verb};
use crate::serviceaccount_token::TokenObjects;

/// A review request this module answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    /// `authentication.k8s.io/v1 SelfSubjectReview`
    SelfSubject,
    /// `authorization.k8s.io/v1 SelfSubjectAccessReview`
    SelfSubjectAccess,
    /// `authorization.k8s.io/v1 SelfSubjectRulesReview`
    SelfSubjectRules,
    /// `authentication.k8s.io/v1 TokenReview`
    Token,
}

impl Review {
    /// The group/version/resource of each review (for discovery).
    pub const RESOURCES: &'static [(&'static str, &'static str, &'static str)] = &[
        ("authentication.k8s.io", "v1", "selfsubjectreviews"),
        ("authorization.k8s.io", "v1", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "v1", "selfsubjectrulesreviews"),
        ("authentication.k8s.io", "v1", "tokenreviews"),
    ];

    /// The review a request creates, if it is one.
    pub fn of(info: &RequestInfo) -> Option<Self> {
        if info.verb != Verb::Create || info.name.is_some() || info.namespace.is_some() || info.version != "v1" {
            return None;
        }
        match (info.group.as_str(), info.resource.as_str()) {
            ("authentication.k8s.io", "selfsubjectreviews") => Some(Self::SelfSubject),
            ("authorization.k8s.io", "selfsubjectaccessreviews") => Some(Self::SelfSubjectAccess),
            ("authorization.k8s.io", "selfsubjectrulesreviews") => Some(Self::SelfSubjectRules),
            ("authentication.k8s.io", "tokenreviews") => Some(Self::Token),
            _ => None,
        }
    }

    /// The answer to `body` (when it could be read as JSON), asked by `user`; a TokenReview
    /// reads `objects` to check service account tokens.
    pub async fn answer(
        self,
        user: &User,
        body: Option<Value>,
        authn: &Authenticator,
        objects: &TokenObjects,
    ) -> Result<Value, ApiError> {
        match self {
            Self::Token => {
                let token = body.as_ref().and_then(|b| b.pointer("/spec/token")).and_then(Value::as_str);
                let Some(token) = token.filter(|t| !t.is_empty()) else {
                    return Err(ApiError::invalid(
                        apiserver_machinery::GroupKind { group: "authentication.k8s.io", kind: "TokenReview" },
                        "",
                        &[apiserver_machinery::field::FieldError::required("spec.token", "")].into_iter().collect(),
                    ));
                };
                let audiences: Vec<String> = body
                    .as_ref()
                    .and_then(|b| b.pointer("/spec/audiences"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
                    .unwrap_or_default();
                let outcome = authn.review(token, &audiences, objects).await;
                let status = match outcome.user {
                    Some(reviewed) => json!({
                        "authenticated": true,
                        "user": reviewed.user_info(),
                        "audiences": outcome.audiences,
                    }),
                    None => json!({"user": {}, "error": outcome.error.unwrap_or_default()}),
                };
                Ok(json!({
                    "kind": "TokenReview",
                    "apiVersion": "authentication.k8s.io/v1",
                    "metadata": {"creationTimestamp": null},
                    "spec": body.as_ref().and_then(|b| b.get("spec")).cloned().unwrap_or(json!({})),
                    "status": status,
                }))
            }
            Self::SelfSubject => Ok(json!({
                "kind": "SelfSubjectReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": null},
                "status": {"userInfo": user.user_info()},
            })),
            Self::SelfSubjectAccess => {
                let spec = match body {
                    Some(body) => body.get("spec").filter(|s| s.is_object()).cloned().ok_or_else(|| {
                        ApiError::bad_request(
                            "SelfSubjectAccessReview needs spec.resourceAttributes or spec.nonResourceAttributes",
                        )
                    })?,
                    None => json!({}),
                };
                Ok(json!({
                    "kind": "SelfSubjectAccessReview",
                    "apiVersion": "authorization.k8s.io/v1",
                    "metadata": {"creationTimestamp": null},
                    "spec": spec,
                    "status": {"allowed": true, "reason": "every authenticated user is allowed (RBAC is not enforced yet)"},
                }))
            }
            Self::SelfSubjectRules => {
                let namespace = body.as_ref().and_then(|b| b.pointer("/spec/namespace")).cloned();
                Ok(json!({
                    "kind": "SelfSubjectRulesReview",
                    "apiVersion": "authorization.k8s.io/v1",
                    "metadata": {"creationTimestamp": null},
                    "spec": {"namespace": namespace.unwrap_or(json!(""))},
                    "status": {
                        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                        "incomplete": false,
                    },
                }))
            }
        }
    }
}
