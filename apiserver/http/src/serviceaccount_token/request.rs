//! `POST .../namespaces/{ns}/serviceaccounts/{name}/token`: a TokenRequest
//! (`authentication.k8s.io/v1`) answered with a signed token, in the order of upstream's
//! `pkg/registry/core/serviceaccount/storage/token.go`: the body's name, namespace and uid must
//! be the service account's, which must exist; audiences default to the API server's, the
//! lifetime to an hour, at least ten minutes; a bound object must be a Pod running as this
//! service account, a Secret or a Node, that exists (with the uid given, if any). A dry run
//! checks all of that and answers without a token: nothing is issued.

use apiserver_machinery::field::{FieldError, FieldErrors};
use apiserver_machinery::{ApiError, GroupKind, GroupResource};
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec, TokenRequestStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ServiceAccountTokens;
use super::claims::{
    Binding, Claims, EXPIRATION_EXTENSION_SECONDS, Lifetime, ObjectRef, WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS,
};
use super::objects::{ObjectKind, TokenObjects, uid};

const TOKEN_REQUEST: GroupKind<'static> = GroupKind { group: "authentication.k8s.io", kind: "TokenRequest" };
/// Lifetime of a token whose request names none.
const DEFAULT_EXPIRATION_SECONDS: i64 = 60 * 60;
/// Shortest lifetime granted.
const MIN_EXPIRATION_SECONDS: i64 = 10 * 60;
/// Longest lifetime a request may name.
const MAX_EXPIRATION_SECONDS: i64 = 1 << 32;

/// The answer to a TokenRequest and the warnings to send with it.
#[derive(Debug)]
pub struct Issued {
    /// The TokenRequest with its defaults and (unless a dry run) `status.token`.
    pub answer: Value,
    /// `Warning` headers (a lifetime shortened to the maximum).
    pub warnings: Vec<String>,
}

/// Answers the TokenRequest `body` for service account `name` in `namespace` at `now`.
pub async fn create_token(
    tokens: &ServiceAccountTokens,
    objects: &TokenObjects,
    namespace: &str,
    name: &str,
    body: &Value,
    dry_run: bool,
    now: jiff::Timestamp,
) -> Result<Issued, ApiError> {
    let mut metadata: ObjectMeta = typed(body, "metadata")?;
    let mut spec: TokenRequestSpec = typed(body, "spec")?;
    for (field, given, wanted, what) in [
        ("metadata.name", &metadata.name, name, "name"),
        ("metadata.namespace", &metadata.namespace, namespace, "namespace"),
    ] {
        if let Some(given) = given.as_deref().filter(|g| !g.is_empty() && *g != wanted) {
            let detail = format!("must match the service account {what} if specified");
            let errors: FieldErrors = [FieldError::invalid(field, given, detail)].into_iter().collect();
            return Err(ApiError::invalid(TOKEN_REQUEST, name, &errors));
        }
    }
    let account = objects.get(ObjectKind::ServiceAccount, namespace, name).await?;
    let account_uid = uid(&account).to_string();
    if let Some(given) = metadata.uid.as_deref().filter(|u| !u.is_empty() && *u != account_uid) {
        let why = format!(
            "the UID in the token request ({given}) does not match the UID of the service account ({account_uid})"
        );
        return Err(ApiError::conflict(token_request_resource(), name, &why));
    }
    let options = tokens.options();
    if spec.audiences.is_empty() {
        spec.audiences = options.api_audiences.clone();
    }
    metadata.name = Some(name.to_string());
    metadata.namespace = Some(namespace.to_string());
    metadata.uid = Some(account_uid.clone());
    metadata.creation_timestamp = Some(Time(now));
    let mut expiration_seconds = spec.expiration_seconds.unwrap_or(DEFAULT_EXPIRATION_SECONDS);
    validate_expiration(expiration_seconds)?;

    let binding = match &spec.bound_object_ref {
        Some(reference) => bind(objects, namespace, name, reference).await?,
        None => Binding::None,
    };
    let mut warnings = Vec::new();
    if let Some(max) = options.max_expiration_seconds.filter(|&max| max > 0 && expiration_seconds > max) {
        warnings.push(format!("requested expiration of {expiration_seconds} seconds shortened to {max} seconds"));
        expiration_seconds = max;
    }
    spec.expiration_seconds = Some(expiration_seconds);
    // Pod-bound tokens with the lifetime kubelets ask for live a year, warning after the hour
    // (upstream's --service-account-extend-token-expiration, on by default).
    let extended = matches!(binding, Binding::Pod { .. })
        && expiration_seconds == WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS
        && spec.audiences.iter().all(|a| options.api_audiences.contains(a));
    let lifetime = Lifetime {
        now: now.as_second(),
        expiration_seconds: if extended { EXPIRATION_EXTENSION_SECONDS } else { expiration_seconds },
        warn_after_seconds: extended.then_some(expiration_seconds),
    };
    let account_ref = ObjectRef::new(name, account_uid);
    let claims = Claims::new(&options.issuer, namespace, account_ref, binding, spec.audiences.clone(), lifetime);
    let status = if dry_run {
        None
    } else {
        let token = tokens.sign(&claims).map_err(|e| ApiError::internal(format!("failed to generate token: {e}")))?;
        let expires =
            now.checked_add(jiff::SignedDuration::from_secs(expiration_seconds)).map_err(ApiError::internal)?;
        Some(TokenRequestStatus { token, expiration_timestamp: Time(expires) })
    };
    let answer = TokenRequest { metadata, spec, status };
    Ok(Issued { answer: serde_json::to_value(answer).expect("TokenRequests serialise"), warnings })
}

/// `TokenRequest.authentication.k8s.io`, as upstream names it in conflicts.
fn token_request_resource() -> GroupResource<'static> {
    GroupResource { group: TOKEN_REQUEST.group, resource: TOKEN_REQUEST.kind }
}

/// Field `key` of the body as `T` (its default when absent).
fn typed<T: DeserializeOwned + Default>(body: &Value, key: &str) -> Result<T, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(value) => serde_json::from_value(value.clone()).map_err(|e| {
            ApiError::bad_request(format!("TokenRequest in version \"v1\" cannot be handled: {key}: {e}"))
        }),
    }
}

/// upstream `ValidateTokenRequest`: between ten minutes and 2^32 seconds.
fn validate_expiration(seconds: i64) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    if seconds < MIN_EXPIRATION_SECONDS {
        errors.push(FieldError::invalid(
            "spec.expirationSeconds",
            seconds,
            "may not specify a duration less than 10 minutes",
        ));
    }
    if seconds > MAX_EXPIRATION_SECONDS {
        errors.push(FieldError::invalid(
            "spec.expirationSeconds",
            seconds,
            "may not specify a duration larger than 2^32 seconds",
        ));
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::invalid(TOKEN_REQUEST, "", &errors)) }
}

/// What `reference` binds the token of service account `account` to.
async fn bind(
    objects: &TokenObjects,
    namespace: &str,
    account: &str,
    reference: &BoundObjectReference,
) -> Result<Binding, ApiError> {
    let api_version = reference.api_version.as_deref().unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = reference.kind.as_deref().unwrap_or_default();
    let name = reference.name.as_deref().unwrap_or_default();
    let (binding, found_uid) = match (group, kind) {
        ("", "Pod") => {
            let pod = objects.get(ObjectKind::Pod, namespace, name).await?;
            let spec = pod.get("spec");
            let runs_as = spec.and_then(|s| s.get("serviceAccountName")).and_then(Value::as_str).unwrap_or_default();
            if runs_as != account {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount \"{account}\" to pod running with different \
                     serviceaccount name."
                )));
            }
            let node_name = spec.and_then(|s| s.get("nodeName")).and_then(Value::as_str).filter(|n| !n.is_empty());
            let node = match node_name {
                // A node that is gone still leaves its name in the claims.
                Some(node_name) => match objects.get(ObjectKind::Node, "", node_name).await {
                    Ok(node) => Some(ObjectRef::new(node_name, uid(&node))),
                    Err(err) if err.code() == 404 => Some(ObjectRef::new(node_name, "")),
                    Err(err) => return Err(ApiError::internal(err)),
                },
                None => None,
            };
            let pod_uid = uid(&pod).to_string();
            (Binding::Pod { pod: ObjectRef::new(name, pod_uid.clone()), node }, pod_uid)
        }
        ("", "Node") => {
            let node = objects.get(ObjectKind::Node, "", name).await?;
            (Binding::Node(ObjectRef::new(name, uid(&node))), uid(&node).to_string())
        }
        ("", "Secret") => {
            let secret = objects.get(ObjectKind::Secret, namespace, name).await?;
            (Binding::Secret(ObjectRef::new(name, uid(&secret))), uid(&secret).to_string())
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "cannot bind token to object of type {group}/{version}, Kind={kind}"
            )));
        }
    };
    if let Some(given) = reference.uid.as_deref().filter(|u| !u.is_empty() && *u != found_uid) {
        let why = format!(
            "the UID in the bound object reference ({given}) does not match the UID in record. \
             The object might have been deleted and then recreated"
        );
        return Err(ApiError::conflict(GroupResource { group, resource: kind }, name, &why));
    }
    Ok(binding)
}

#[cfg(test)]
mod tests {
    use apiserver_registry::WriteOptions;
    use serde_json::json;

    use super::super::jwt;
    use super::super::tests::{objects_with_robot, tokens};
    use super::*;

    fn now() -> jiff::Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn payload(token: &str) -> Value {
        jwt::unverified_claims(token).unwrap()
    }

    #[tokio::test]
    async fn defaults_an_hour_and_the_api_audience() {
        let (_registries, objects, uid) = objects_with_robot().await;
        let tokens = tokens();
        let issued = create_token(&tokens, &objects, "default", "robot", &json!({}), false, now()).await.unwrap();
        let answer = issued.answer;
        assert_eq!(
            (answer["kind"].as_str(), answer["apiVersion"].as_str()),
            (Some("TokenRequest"), Some("authentication.k8s.io/v1"))
        );
        assert_eq!(
            answer["metadata"],
            json!({"name": "robot", "namespace": "default", "uid": uid, "creationTimestamp": "2026-03-01T12:00:00Z"})
        );
        assert_eq!(
            answer["spec"],
            json!({"audiences": ["https://kubernetes.default.svc.cluster.local"], "expirationSeconds": 3600})
        );
        assert_eq!(answer["status"]["expirationTimestamp"], "2026-03-01T13:00:00Z");
        let claims = payload(answer["status"]["token"].as_str().unwrap());
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
        assert_eq!(claims["sub"], "system:serviceaccount:default:robot");
        assert_eq!(claims["kubernetes.io"]["serviceaccount"], json!({"name": "robot", "uid": uid}));
        assert!(issued.warnings.is_empty());
    }

    #[tokio::test]
    async fn rejects_short_lifetimes_unknown_accounts_and_mismatched_names() {
        let (_registries, objects, uid) = objects_with_robot().await;
        let tokens = tokens();
        let create = |name: &'static str, body: Value| {
            let (tokens, objects) = (&tokens, &objects);
            async move { create_token(tokens, objects, "default", name, &body, false, now()).await.unwrap_err() }
        };
        let err = create("robot", json!({"spec": {"expirationSeconds": 60}})).await;
        assert_eq!(err.code(), 422);
        assert_eq!(
            err.to_string(),
            "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"
        );
        let err = create("nobody", json!({"spec": {"expirationSeconds": 60}})).await;
        assert_eq!((err.code(), err.to_string().as_str()), (404, "serviceaccounts \"nobody\" not found"));
        let err = create("robot", json!({"metadata": {"name": "other"}})).await;
        assert_eq!(err.code(), 422);
        assert!(
            err.to_string().contains("metadata.name: Invalid value: \"other\": must match the service account name"),
            "{err}"
        );
        let err = create("robot", json!({"metadata": {"uid": "stale"}})).await;
        assert_eq!(
            err.to_string(),
            format!(
                "Operation cannot be fulfilled on TokenRequest.authentication.k8s.io \"robot\": the UID in the token request (stale) does not match the UID of the service account ({uid})"
            )
        );
        let err = create(
            "robot",
            json!({"spec": {"boundObjectRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "c"}}}),
        )
        .await;
        assert_eq!(err.to_string(), "cannot bind token to object of type /v1, Kind=ConfigMap");
    }

    #[tokio::test]
    async fn binds_to_a_pod_of_the_account_with_its_node_and_extends_kubelet_lifetimes() {
        let (registries, objects, _uid) = objects_with_robot().await;
        let pods = registries.iter().find(|r| r.resource().plural == "pods").unwrap();
        let pod = |name: &str, account: &str| {
            json!({"metadata": {"name": name}, "spec": {"serviceAccountName": account, "nodeName": "n1",
                   "containers": [{"name": "c", "image": "nginx"}]}})
        };
        let ours = pods.create(Some("default"), pod("p", "robot"), WriteOptions::default()).await.unwrap();
        pods.create(Some("default"), pod("q", "default"), WriteOptions::default()).await.unwrap();
        let tokens = tokens();
        let bound = |name: &str, uid: &str, seconds: i64| {
            json!({"spec": {"expirationSeconds": seconds,
                            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": uid}}})
        };
        let pod_uid = uid(&ours).to_string();
        let issued = create_token(&tokens, &objects, "default", "robot", &bound("p", &pod_uid, 3607), false, now())
            .await
            .unwrap();
        let claims = payload(issued.answer["status"]["token"].as_str().unwrap());
        let private = &claims["kubernetes.io"];
        assert_eq!(private["pod"], json!({"name": "p", "uid": pod_uid}));
        assert_eq!(private["node"], json!({"name": "n1"}), "the node does not exist: its name only");
        assert_eq!(private["warnafter"].as_i64().unwrap(), now().as_second() + 3607);
        assert_eq!(claims["exp"].as_i64().unwrap(), now().as_second() + EXPIRATION_EXTENSION_SECONDS);
        assert_eq!(issued.answer["status"]["expirationTimestamp"], "2026-03-01T13:00:07Z");

        let ordinary =
            create_token(&tokens, &objects, "default", "robot", &bound("p", "", 600), false, now()).await.unwrap();
        let claims = payload(ordinary.answer["status"]["token"].as_str().unwrap());
        assert!(claims["kubernetes.io"].get("warnafter").is_none(), "{claims}");

        let err =
            create_token(&tokens, &objects, "default", "robot", &bound("q", "", 600), false, now()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot bind token for serviceaccount \"robot\" to pod running with different serviceaccount name."
        );
        let err =
            create_token(&tokens, &objects, "default", "robot", &bound("p", "x", 600), false, now()).await.unwrap_err();
        assert_eq!(err.code(), 409);
        assert!(
            err.to_string()
                .starts_with("Operation cannot be fulfilled on Pod \"p\": the UID in the bound object reference (x)"),
            "{err}"
        );
        let err = create_token(&tokens, &objects, "default", "robot", &bound("gone", "", 600), false, now())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "pods \"gone\" not found");
    }

    #[tokio::test]
    async fn dry_runs_issue_nothing_and_the_maximum_shortens_with_a_warning() {
        let (_registries, objects, _uid) = objects_with_robot().await;
        let mut tokens = tokens();
        let dry = create_token(&tokens, &objects, "default", "robot", &json!({}), true, now()).await.unwrap();
        assert!(dry.answer.get("status").is_none(), "{}", dry.answer);
        tokens.options.max_expiration_seconds = Some(7200);
        let body = json!({"spec": {"expirationSeconds": 86400, "audiences": ["vault"]}});
        let issued = create_token(&tokens, &objects, "default", "robot", &body, false, now()).await.unwrap();
        assert_eq!(issued.warnings, ["requested expiration of 86400 seconds shortened to 7200 seconds"]);
        assert_eq!(issued.answer["spec"]["expirationSeconds"], 7200);
        assert_eq!(issued.answer["spec"]["audiences"], json!(["vault"]));
        let claims = payload(issued.answer["status"]["token"].as_str().unwrap());
        assert_eq!(claims["aud"], json!(["vault"]));
    }
}
