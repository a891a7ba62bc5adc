//! API errors as `metav1.Status`, with upstream's codes, reasons, messages and causes
//! (`k8s.io/apimachinery/pkg/api/errors`). Every failure a client sees is built here, once.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusCause, StatusDetails};

use crate::field::{FieldError, FieldErrors};

/// A resource named by group and plural (`deployments.apps`; core resources have no group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupResource<'a> {
    /// API group, empty for core.
    pub group: &'a str,
    /// Plural resource name.
    pub resource: &'a str,
}

/// `name.group`, or `name` alone for the core group.
fn write_qualified(f: &mut fmt::Formatter<'_>, name: &str, group: &str) -> fmt::Result {
    if group.is_empty() { f.write_str(name) } else { write!(f, "{name}.{group}") }
}

impl fmt::Display for GroupResource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_qualified(f, self.resource, self.group)
    }
}

/// A kind named with its group (`Deployment.apps`; core kinds have no group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupKind<'a> {
    /// API group, empty for core.
    pub group: &'a str,
    /// Kind.
    pub kind: &'a str,
}

impl fmt::Display for GroupKind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_qualified(f, self.kind, self.group)
    }
}

/// An API failure: the HTTP code plus the `Status` body to send. Boxed: errors travel through
/// every `Result` of the request path and must stay one pointer wide.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .status.message.as_deref().unwrap_or_default())]
pub struct ApiError {
    status: Box<Status>,
}

impl ApiError {
    fn new(code: u16, reason: &str, message: String, details: Option<StatusDetails>) -> Self {
        Self {
            status: Box::new(Status {
                code: Some(i32::from(code)),
                details,
                message: Some(message),
                reason: Some(reason.to_string()),
                status: Some("Failure".to_string()),
                ..Status::default()
            }),
        }
    }

    fn details(group: &str, kind: &str, name: &str) -> StatusDetails {
        StatusDetails {
            group: Some(group.to_string()).filter(|g| !g.is_empty()),
            kind: Some(kind.to_string()),
            name: Some(name.to_string()).filter(|n| !n.is_empty()),
            ..StatusDetails::default()
        }
    }

    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        self.status.code.and_then(|c| u16::try_from(c).ok()).unwrap_or(500)
    }

    /// The machine-readable reason (`NotFound`, `Invalid`, ...).
    pub fn reason(&self) -> &str {
        self.status.reason.as_deref().unwrap_or_default()
    }

    /// The `Status` body.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// 404: `pods "web" not found`.
    pub fn not_found(resource: GroupResource<'_>, name: &str) -> Self {
        let details = Self::details(resource.group, resource.resource, name);
        Self::new(404, "NotFound", format!("{resource} \"{name}\" not found"), Some(details))
    }

    /// 409: `pods "web" already exists`.
    pub fn already_exists(resource: GroupResource<'_>, name: &str) -> Self {
        let details = Self::details(resource.group, resource.resource, name);
        Self::new(409, "AlreadyExists", format!("{resource} \"{name}\" already exists"), Some(details))
    }

    /// 409: the name is taken by an object that is being deleted.
    pub fn already_exists_deleting(resource: GroupResource<'_>, name: &str) -> Self {
        let details = Self::details(resource.group, resource.resource, name);
        let message = format!("object is being deleted: {resource} \"{name}\" already exists");
        Self::new(409, "AlreadyExists", message, Some(details))
    }

    /// 409: every generated name was taken.
    pub fn generate_name_conflict(resource: GroupResource<'_>, name: &str) -> Self {
        let mut details = Self::details(resource.group, resource.resource, name);
        details.retry_after_seconds = Some(1);
        let message = format!(
            "{resource} \"{name}\" already exists, the server was not able to generate a unique name for the object"
        );
        Self::new(409, "AlreadyExists", message, Some(details))
    }

    /// 500 with no reason, as upstream answers a create that carries a resourceVersion.
    pub fn resource_version_set_on_create() -> Self {
        Self::unknown("resourceVersion should not be set on objects to be created")
    }

    /// 409 on a stale resourceVersion: the message kubectl users know.
    pub fn conflict(resource: GroupResource<'_>, name: &str, why: &str) -> Self {
        let details = Self::details(resource.group, resource.resource, name);
        let message = format!("Operation cannot be fulfilled on {resource} \"{name}\": {why}");
        Self::new(409, "Conflict", message, Some(details))
    }

    /// 409 from server-side apply: fields the applier would change belong to other managers.
    /// One cause per field (`reason: FieldManagerConflict`), each `(field, message)`.
    pub fn apply_conflict(message: String, causes: impl IntoIterator<Item = (String, String)>) -> Self {
        let details = StatusDetails {
            causes: Some(
                causes
                    .into_iter()
                    .map(|(field, message)| StatusCause {
                        field: Some(field),
                        message: Some(message),
                        reason: Some("FieldManagerConflict".into()),
                    })
                    .collect(),
            ),
            ..StatusDetails::default()
        };
        Self::new(409, "Conflict", message, Some(details))
    }

    /// The `why` of a conflict on a stale resourceVersion.
    pub const OBJECT_MODIFIED: &'static str =
        "the object has been modified; please apply your changes to the latest version and try again";

    /// 422 with one cause per field error.
    pub fn invalid(kind: GroupKind<'_>, name: &str, errors: &FieldErrors) -> Self {
        let mut details = Self::details(kind.group, kind.kind, name);
        details.causes = Some(errors.iter().map(FieldError::cause).collect());
        let message = format!("{kind} \"{name}\" is invalid: {errors}");
        Self::new(422, "Invalid", message, Some(details))
    }

    /// 404 for a path that names no resource (upstream's catch-all).
    pub fn path_not_found() -> Self {
        let details = StatusDetails {
            causes: Some(vec![StatusCause {
                reason: Some("UnexpectedServerResponse".into()),
                message: Some("404 page not found".into()),
                field: None,
            }]),
            ..StatusDetails::default()
        };
        Self::new(404, "NotFound", "the server could not find the requested resource".into(), Some(details))
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message.into(), None)
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized".into(), None)
    }

    /// 403: `pods "web" is forbidden: why`.
    pub fn forbidden(resource: GroupResource<'_>, name: &str, why: &str) -> Self {
        let details = Self::details(resource.group, resource.resource, name);
        let message = format!("{resource} \"{name}\" is forbidden: {why}");
        Self::new(403, "Forbidden", message, Some(details))
    }

    /// The error with one more cause in its details (`reason` is the cause's type).
    pub fn with_cause(mut self, reason: &str, message: &str, field: &str) -> Self {
        let cause = StatusCause {
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            field: Some(field.to_string()).filter(|f| !f.is_empty()),
        };
        self.status.details.get_or_insert_with(StatusDetails::default).causes.get_or_insert_with(Vec::new).push(cause);
        self
    }

    /// 405: a verb the resource does not serve.
    pub fn method_not_supported(resource: GroupResource<'_>, verb: &str) -> Self {
        let details = Self::details(resource.group, resource.resource, "");
        let message = format!("{verb} is not supported on resources of kind \"{resource}\"");
        Self::new(405, "MethodNotAllowed", message, Some(details))
    }

    /// 406: no representation the client accepts.
    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message.into(), None)
    }

    /// 415: a body type the endpoint does not read; `accepted` lists the ones it does.
    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        let message = format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            accepted.join(", ")
        );
        Self::new(415, "UnsupportedMediaType", message, None)
    }

    /// 413.
    pub fn too_large(message: &str) -> Self {
        Self::new(413, "RequestEntityTooLarge", format!("Request entity too large: {message}"), None)
    }

    /// 410 Expired: history the request needs was compacted (watch resourceVersion, continue).
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message.into(), None)
    }

    /// 410 Expired carrying a continue token to go on with (upstream offers one that continues
    /// from the latest revision when a list's snapshot was compacted).
    pub fn expired_with_continue(message: impl Into<String>, continue_token: String) -> Self {
        let mut err = Self::expired(message);
        err.status.metadata.continue_ = Some(continue_token);
        err
    }

    /// 410 for a watch from a compacted resourceVersion: `too old resource version: 5 (90)`.
    pub fn too_old_resource_version(requested: u64, oldest: u64) -> Self {
        Self::expired(format!("too old resource version: {requested} ({oldest})"))
    }

    /// 504 with a `ResourceVersionTooLarge` cause: a read asked for a revision not reached yet.
    pub fn too_large_resource_version(requested: u64, current: u64, retry_after_seconds: i32) -> Self {
        let details = StatusDetails {
            causes: Some(vec![StatusCause {
                reason: Some("ResourceVersionTooLarge".into()),
                message: Some("Too large resource version".into()),
                field: None,
            }]),
            retry_after_seconds: Some(retry_after_seconds),
            ..StatusDetails::default()
        };
        let message = format!("Timeout: Too large resource version: {requested}, current: {current}");
        Self::new(504, "Timeout", message, Some(details))
    }

    /// 504: the request took too long.
    pub fn timeout(message: &str) -> Self {
        Self::new(504, "Timeout", format!("Timeout: {message}"), None)
    }

    /// 500 with no reason: what upstream answers for an error that is not an API status (the
    /// message is the error's own, e.g. a server-side apply body it cannot type).
    pub fn unknown(message: impl Into<String>) -> Self {
        let mut err = Self::new(500, "", message.into(), None);
        err.status.reason = None;
        err
    }

    /// 500: a bug or a storage failure; the message says what, never hides it.
    pub fn internal(error: impl fmt::Display) -> Self {
        let details = StatusDetails {
            causes: Some(vec![StatusCause { message: Some(error.to_string()), ..StatusCause::default() }]),
            ..StatusDetails::default()
        };
        Self::new(500, "InternalError", format!("Internal error occurred: {error}"), Some(details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PODS: GroupResource<'static> = GroupResource { group: "", resource: "pods" };
    const DEPLOYMENTS: GroupResource<'static> = GroupResource { group: "apps", resource: "deployments" };

    #[test]
    fn not_found_and_conflict_read_like_upstream() {
        let err = ApiError::not_found(DEPLOYMENTS, "web");
        assert_eq!((err.code(), err.reason()), (404, "NotFound"));
        assert_eq!(err.to_string(), "deployments.apps \"web\" not found");
        let details = err.status().details.as_ref().unwrap();
        assert_eq!((details.group.as_deref(), details.kind.as_deref()), (Some("apps"), Some("deployments")));
        let err = ApiError::conflict(PODS, "web", ApiError::OBJECT_MODIFIED);
        assert_eq!(
            err.to_string(),
            "Operation cannot be fulfilled on pods \"web\": the object has been modified; please apply your \
             changes to the latest version and try again"
        );
    }

    #[test]
    fn invalid_lists_every_cause() {
        let mut errors = FieldErrors::default();
        errors.push(FieldError::required("metadata.name", "name or generateName is required"));
        errors.push(FieldError::invalid("spec.replicas", -1, "must be greater than or equal to 0"));
        let err = ApiError::invalid(GroupKind { group: "apps", kind: "Deployment" }, "web", &errors);
        assert_eq!(err.code(), 422);
        assert_eq!(
            err.to_string(),
            "Deployment.apps \"web\" is invalid: [metadata.name: Required value: name or generateName is required, \
             spec.replicas: Invalid value: -1: must be greater than or equal to 0]"
        );
        let causes = err.status().details.as_ref().unwrap().causes.as_ref().unwrap();
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[1].reason.as_deref(), Some("FieldValueInvalid"));
        assert_eq!(causes[1].field.as_deref(), Some("spec.replicas"));
        assert_eq!(causes[1].message.as_deref(), Some("Invalid value: -1: must be greater than or equal to 0"));
    }

    #[test]
    fn serialises_as_a_v1_status() {
        let json = serde_json::to_value(ApiError::unauthorized().status()).unwrap();
        assert_eq!(json["kind"], "Status");
        assert_eq!(json["apiVersion"], "v1");
        assert_eq!(json["status"], "Failure");
        assert_eq!(json["code"], 401);
    }

    #[test]
    fn apply_conflicts_have_one_cause_per_field() {
        let err = ApiError::apply_conflict(
            "Apply failed with 1 conflict: conflict with \"kubectl\" using apps/v1: .spec.replicas".into(),
            [(".spec.replicas".to_string(), "conflict with \"kubectl\" using apps/v1".to_string())],
        );
        assert_eq!((err.code(), err.reason()), (409, "Conflict"));
        let json = serde_json::to_value(err.status()).unwrap();
        assert_eq!(
            json["details"]["causes"][0],
            serde_json::json!({"reason": "FieldManagerConflict", "message": "conflict with \"kubectl\" using apps/v1", "field": ".spec.replicas"})
        );
        let unknown = ApiError::unknown("failed to create typed patch object");
        assert_eq!((unknown.code(), unknown.reason()), (500, ""));
        assert!(unknown.status().reason.is_none());
    }

    #[test]
    fn too_large_resource_version_carries_its_cause() {
        let err = ApiError::too_large_resource_version(100, 90, 1);
        assert_eq!(err.code(), 504);
        let details = err.status().details.as_ref().unwrap();
        assert_eq!(details.retry_after_seconds, Some(1));
        assert_eq!(details.causes.as_ref().unwrap()[0].reason.as_deref(), Some("ResourceVersionTooLarge"));
    }
}
