//! Reviews: virtual resources answered from the request itself, never stored.
//! `SelfSubjectReview` (`kubectl auth whoami`) reports the caller; `SelfSubjectAccessReview`
//! (`kubectl auth can-i`) says yes to every authenticated user until RBAC enforcement lands, and
//! `SelfSubjectRulesReview` (`kubectl auth can-i --list`) lists the matching rules: every verb on
//! every resource and every non-resource URL.

use apiserver_machinery::ApiError;
use serde_json::{Value, json};

use crate::authn::User;
use crate::request_info::{RequestInfo, Verb};

/// A review request this module answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    /// `authentication.k8s.io/v1 SelfSubjectReview`
    SelfSubject,
    /// `authorization.k8s.io/v1 SelfSubjectAccessReview`
    SelfSubjectAccess,
    /// `authorization.k8s.io/v1 SelfSubjectRulesReview`
    SelfSubjectRules,
}

impl Review {
    /// The group/version/resource of each review (for discovery).
    pub const RESOURCES: &'static [(&'static str, &'static str, &'static str)] = &[
        ("authentication.k8s.io", "v1", "selfsubjectreviews"),
        ("authorization.k8s.io", "v1", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "v1", "selfsubjectrulesreviews"),
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
            _ => None,
        }
    }

    /// The answer to `body` (when it could be read as JSON), asked by `user`.
    pub fn answer(self, user: &User, body: Option<Value>) -> Result<Value, ApiError> {
        match self {
            Self::SelfSubject => Ok(json!({
                "kind": "SelfSubjectReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": null},
                "status": {"userInfo": {"username": user.name, "groups": user.groups}},
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
