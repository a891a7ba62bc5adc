//! The request path: health and version (no credentials needed), authentication, discovery,
//! then one function per resource verb over the generic registry.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use apiserver_machinery::ApiError;
use apiserver_machinery::resource_version::ReadParams;
use apiserver_machinery::resources::Verb as ResourceVerb;
use apiserver_registry::{
    Applied, DeleteOptions, Deleted, ListOptions, PatchType, Propagation, Registry, WatchOptions, WriteOptions,
};
use bytes::Bytes;
use futures::StreamExt;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};

use crate::authn::Authenticator;
use crate::body;
use crate::discovery::{AGGREGATED_V2, Discovery, wants_aggregated};
use crate::metrics::{Metrics, RequestLabels};
use crate::openapi::OpenApi;
use crate::partial_metadata;
use crate::request_info::{self, RequestInfo, Verb};
use crate::resource_metrics::{self, MetricsTable};
use crate::reviews::Review;
use crate::serviceaccount_token::{self, TokenObjects};
use crate::table::{table, wants_table};

/// Response bodies: whole documents or watch streams.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Largest request body accepted (upstream: 3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;
/// Longest time a non-watch request may take (upstream's default request timeout).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// A watch without `timeoutSeconds` ends after this long (clients watch again).
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The served API.
pub struct Api {
    metrics: Metrics,
    /// Set when the server begins shutting down: open watches end cleanly.
    stopping: tokio::sync::watch::Sender<bool>,
    registries: HashMap<(&'static str, &'static str, &'static str), Registry>,
    discovery: Discovery,
    authn: Authenticator,
    /// What service account tokens name, for issuing and authenticating them.
    token_objects: TokenObjects,
    server_address: String,
    openapi: OpenApi,
    /// `metrics.k8s.io`: in memory, fed by the node agents.
    resource_metrics: MetricsTable,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("resources", &self.registries.len()).finish_non_exhaustive()
    }
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

pub(crate) fn json_response(code: StatusCode, value: &Value, content_type: &str) -> Response<Body> {
    let body = serde_json::to_vec(value).expect("JSON values serialise");
    Response::builder()
        .status(code)
        .header(CONTENT_TYPE, content_type)
        .body(full(body))
        .expect("static response parts are valid")
}

fn error_response(err: &ApiError) -> Response<Body> {
    let code = StatusCode::from_u16(err.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(code, &json!(err.status()), "application/json")
}

/// The query string as a map (the last value of a repeated key wins).
fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).into_owned().collect()
}

fn flag(query: &HashMap<String, String>, key: &str) -> Option<bool> {
    query.get(key).map(|v| v == "true" || v == "1")
}

fn dry_run(query: &HashMap<String, String>) -> Result<bool, ApiError> {
    match query.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(other) => {
            Err(ApiError::bad_request(format!("dryRun: Unsupported value: \"{other}\": supported values: \"All\"")))
        }
    }
}

/// The request's `User-Agent` ("" when absent).
fn user_agent<B>(req: &Request<B>) -> String {
    req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// Longest `fieldManager` upstream accepts.
const FIELD_MANAGER_MAX_BYTES: usize = 128;

/// Whether upstream counts a character as printable (Go's `unicode.IsPrint`, approximately).
fn printable(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace())
}

/// The options of a write (`request` names them in errors: `CreateOptions`, `UpdateOptions`,
/// `PatchOptions`): `dryRun`, `force` (apply patches only) and the field manager, which is
/// `fieldManager` (required for apply), else the User-Agent up to its first `/`
/// (`kubectl/v1.35.2 (linux/amd64) ...` records `kubectl`), as upstream records writes.
fn write_options(
    query: &HashMap<String, String>,
    user_agent: &str,
    request: &str,
    patch: Option<PatchType>,
) -> Result<WriteOptions, ApiError> {
    use apiserver_machinery::field::{FieldError, FieldErrors, Path};
    let mut errors = FieldErrors::default();
    let explicit = query.get("fieldManager").filter(|m| !m.is_empty());
    if let Some(manager) = explicit {
        if manager.len() > FIELD_MANAGER_MAX_BYTES {
            errors.push(FieldError::too_long("fieldManager", FIELD_MANAGER_MAX_BYTES));
        }
        for (i, _) in manager.chars().enumerate().filter(|(_, c)| !printable(*c)) {
            let path = Path::new("fieldManager").index(i);
            errors.push(FieldError::invalid(path, manager.as_str(), "all characters must be printable"));
        }
    }
    let apply = patch == Some(PatchType::Apply);
    if apply && explicit.is_none() {
        errors.push(FieldError::required("fieldManager", "is required for apply patch"));
    }
    if request == "PatchOptions" && !apply && query.contains_key("force") {
        errors.push(FieldError::forbidden("force", "may not be specified for non-apply patch"));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(
            apiserver_machinery::GroupKind { group: "meta.k8s.io", kind: request },
            "",
            &errors,
        ));
    }
    let from_agent = || -> String {
        let product = user_agent.split('/').next().unwrap_or_default();
        product.chars().filter(|c| printable(*c)).take(FIELD_MANAGER_MAX_BYTES).collect()
    };
    let field_manager = explicit.cloned().or_else(|| Some(from_agent()).filter(|m| !m.is_empty()));
    Ok(WriteOptions { dry_run: dry_run(query)?, field_manager, force: apply && flag(query, "force") == Some(true) })
}

impl Api {
    /// The API over these registries; `server_address` is what `/api` advertises.
    pub fn new(registries: Vec<Registry>, authn: Authenticator, server_address: String) -> Self {
        let mut served: Vec<_> = registries.iter().map(Registry::resource).collect();
        served.extend(Review::RESOURCES.iter().filter_map(|(g, v, r)| apiserver_machinery::resources::find(g, v, r)));
        let openapi = OpenApi::new(served.clone());
        served.extend(resource_metrics::RESOURCES.iter());
        let discovery = Discovery::new(served);
        let token_objects = TokenObjects::new(&registries);
        let registries = registries
            .into_iter()
            .map(|r| {
                let info = r.resource();
                ((info.group, info.version, info.plural), r)
            })
            .collect();
        let (stopping, _) = tokio::sync::watch::channel(false);
        Self {
            metrics: Metrics::default(),
            stopping,
            registries,
            discovery,
            authn,
            token_objects,
            server_address,
            openapi,
            resource_metrics: MetricsTable::default(),
        }
    }

    /// Ends every open watch (each response completes normally, so clients watch again from
    /// their last resourceVersion) and every watch started from now on.
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// Serves one request; never fails (errors become `Status` responses).
    pub async fn handle(
        &self,
        req: Request<Incoming>,
        client_cert: Option<&CertificateDer<'static>>,
    ) -> Response<Body> {
        let started = std::time::Instant::now();
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        // Query and request info are read once, for routing and for the metric labels.
        let query = query(&req);
        let watch = flag(&query, "watch").unwrap_or(false);
        let info = request_info::parse(&method, &path, watch);
        let labels = self.metric_labels(&method, info.as_ref());
        let routed = self.route(req, client_cert, &query, info);
        // Ordinary requests get upstream's 60 s; a watch bounds itself by timeoutSeconds.
        let result = if watch {
            routed.await
        } else {
            tokio::time::timeout(REQUEST_TIMEOUT, routed)
                .await
                .unwrap_or_else(|_| Err(ApiError::timeout("request did not complete within the allowed duration")))
        };
        let response = match result {
            Ok(response) => response,
            Err(err) => error_response(&err),
        };
        let code = response.status().as_u16();
        tracing::debug!(%method, %path, code, "request");
        // A watch is counted when its response starts, like upstream's WATCH latency.
        self.metrics.observe(labels, code, started.elapsed());
        response
    }

    async fn route(
        &self,
        req: Request<Incoming>,
        client_cert: Option<&CertificateDer<'static>>,
        query: &HashMap<String, String>,
        info: Option<RequestInfo>,
    ) -> Result<Response<Body>, ApiError> {
        let path = req.uri().path().trim_end_matches('/').to_string();
        match path.as_str() {
            "/healthz" | "/livez" | "/readyz" => {
                return Ok(Response::builder()
                    .header(CONTENT_TYPE, "text/plain; charset=utf-8")
                    .body(full("ok"))
                    .expect("valid"));
            }
            "/version" => return Ok(json_response(StatusCode::OK, &version(), "application/json")),
            _ => {}
        }
        let authorization = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let user = self
            .authn
            .authenticate(client_cert, authorization, &self.token_objects)
            .await
            .ok_or_else(ApiError::unauthorized)?;

        if path == "/metrics" {
            let text = self.metrics.render();
            return Ok(Response::builder()
                .header(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
                .body(full(text))
                .expect("valid"));
        }
        let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        if req.method() == Method::GET
            && let Some(answer) = self.openapi.serve(&path, query, &accept)
        {
            return answer;
        }
        if req.method() == Method::GET {
            let aggregated = wants_aggregated(&accept);
            let document = match segments.as_slice() {
                ["api"] if aggregated => {
                    return Ok(json_response(StatusCode::OK, &self.discovery.aggregated(true), AGGREGATED_V2));
                }
                ["apis"] if aggregated => {
                    return Ok(json_response(StatusCode::OK, &self.discovery.aggregated(false), AGGREGATED_V2));
                }
                ["api"] => Some(self.discovery.api_versions(&self.server_address)),
                ["apis"] => Some(self.discovery.api_group_list()),
                ["api", version] => self.discovery.resource_list("", version),
                ["apis", group] => self.discovery.group(group),
                ["apis", group, version] => self.discovery.resource_list(group, version),
                _ => None,
            };
            if let Some(document) = document {
                return Ok(json_response(StatusCode::OK, &document, "application/json"));
            }
        }
        let info = info.ok_or_else(ApiError::path_not_found)?;
        if info.group == resource_metrics::GROUP {
            return self.resource_metrics.serve(req, info, query, &accept).await;
        }
        if let Some(review) = Review::of(&info) {
            // Typed clients send reviews as protobuf; the answer needs at most the JSON spec.
            let (content_type, body) = read_body(req).await?;
            let body = body::decode(content_type.as_deref(), &body).ok();
            let answer = review.answer(&user, body, &self.authn, &self.token_objects).await?;
            return Ok(json_response(StatusCode::CREATED, &answer, "application/json"));
        }
        self.resource(req, info, query, &accept).await
    }

    async fn resource(
        &self,
        req: Request<Incoming>,
        info: RequestInfo,
        query: &HashMap<String, String>,
        accept: &str,
    ) -> Result<Response<Body>, ApiError> {
        let registry = self
            .registries
            .get(&(info.group.as_str(), info.version.as_str(), info.resource.as_str()))
            .ok_or_else(ApiError::path_not_found)?;
        let resource = registry.resource();
        let served_verb = match info.verb {
            Verb::Get => Some(ResourceVerb::Get),
            Verb::List => Some(ResourceVerb::List),
            Verb::Watch => Some(ResourceVerb::Watch),
            Verb::Create => Some(ResourceVerb::Create),
            Verb::Update => Some(ResourceVerb::Update),
            Verb::Patch => Some(ResourceVerb::Patch),
            Verb::Delete => Some(ResourceVerb::Delete),
            Verb::DeleteCollection => Some(ResourceVerb::DeleteCollection),
            Verb::NotAllowed => None,
        };
        let group_resource = apiserver_machinery::GroupResource { group: resource.group, resource: resource.plural };
        let all_namespaces_delete =
            info.verb == Verb::DeleteCollection && resource.namespaced && info.namespace.is_none();
        if info.subresource.is_none() && (served_verb.is_none_or(|v| !resource.serves(v)) || all_namespaces_delete) {
            let verb = served_verb.map_or("this method", ResourceVerb::as_str);
            return Err(ApiError::method_not_supported(group_resource, verb));
        }
        // Subresources served so far: status and scale (get, update, patch).
        let pods = (resource.group, resource.plural) == ("", "pods");
        if pods && matches!(info.subresource.as_deref(), Some("binding" | "eviction")) {
            if info.verb != Verb::Create {
                return Err(ApiError::method_not_supported(
                    group_resource,
                    served_verb.map_or("this method", ResourceVerb::as_str),
                ));
            }
            let (namespace, name) = (info.namespace.as_deref(), info.name.as_deref().unwrap_or_default());
            let body = read_json(req).await?;
            if info.subresource.as_deref() == Some("binding") {
                registry.bind(namespace, name, &body).await?;
            } else {
                let options = delete_options(query, body.get("deleteOptions").cloned())?;
                registry.evict(namespace, name, options).await?;
            }
            let success =
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201});
            return Ok(json_response(StatusCode::CREATED, &success, "application/json"));
        }
        if (resource.group, resource.plural, info.subresource.as_deref()) == ("", "namespaces", Some("finalize")) {
            if info.verb != Verb::Update {
                let verb = served_verb.map_or("this method", ResourceVerb::as_str);
                return Err(ApiError::method_not_supported(group_resource, verb));
            }
            let options = write_options(query, &user_agent(&req), "UpdateOptions", None)?;
            let name = info.name.as_deref().unwrap_or_default();
            let obj = registry.finalize(name, read_json(req).await?, options).await?;
            return Ok(json_response(StatusCode::OK, &Value::Object(obj), "application/json"));
        }
        if (resource.group, resource.plural, info.subresource.as_deref()) == ("", "serviceaccounts", Some("token")) {
            let verb = served_verb.map_or("this method", ResourceVerb::as_str);
            return self.token_request(req, &info, query, (group_resource, verb)).await;
        }
        let (status, scale) = match info.subresource.as_deref() {
            None => (false, false),
            Some("status") if resource.subresource("status").is_some() => (true, false),
            Some("scale") if registry.has_scale() => (false, true),
            Some(_) => return Err(ApiError::path_not_found()),
        };
        if (status || scale) && !matches!(info.verb, Verb::Get | Verb::Update | Verb::Patch) {
            let verb = served_verb.map_or("this method", ResourceVerb::as_str);
            return Err(ApiError::method_not_supported(group_resource, verb));
        }
        if scale {
            let name = info.name.as_deref().unwrap_or_default();
            let namespace = info.namespace.as_deref();
            let request = if info.verb == Verb::Update { "UpdateOptions" } else { "PatchOptions" };
            let options = write_options(query, &user_agent(&req), request, None)?;
            let scale = match info.verb {
                Verb::Get => registry.get_scale(namespace, name).await?,
                Verb::Update => registry.update_scale(namespace, name, read_json(req).await?, options).await?,
                _ => {
                    let (kind, patch) = read_patch(req).await?;
                    registry.patch_scale(namespace, name, kind, &patch, options).await?
                }
            };
            return Ok(json_response(StatusCode::OK, &scale, "application/json"));
        }
        // A namespaced object needs a namespace in its path, a cluster-scoped one must not have one.
        let namespace = info.namespace.as_deref();
        let single = !matches!(info.verb, Verb::List | Verb::Watch | Verb::DeleteCollection | Verb::Create);
        if (resource.namespaced && namespace.is_none() && (single || info.verb == Verb::Create))
            || (!resource.namespaced && namespace.is_some())
        {
            return Err(ApiError::path_not_found());
        }
        let name = info.name.as_deref().unwrap_or_default();
        let read = ReadParams {
            resource_version: query.get("resourceVersion").map(String::as_str),
            resource_version_match: query.get("resourceVersionMatch").map(String::as_str),
            continue_token: query.get("continue").map(String::as_str),
            limit: query.get("limit").and_then(|l| l.parse().ok()),
            send_initial_events: flag(query, "sendInitialEvents"),
            allow_watch_bookmarks: flag(query, "allowWatchBookmarks"),
        };
        let as_table = wants_table(accept);
        let as_yaml = body::wants_yaml(accept);
        let as_metadata = partial_metadata::wanted_version(accept);
        // Plain JSON answers can be made from the stored bytes (lists, watch lines).
        let plain_json = !as_table && !as_yaml && as_metadata.is_none();
        let respond = |code: StatusCode, value: Value| -> Response<Body> {
            if let Some(version) = as_metadata {
                json_response(code, &partial_metadata::convert(&value, version), "application/json")
            } else if as_table {
                let items = match value.get("items").and_then(Value::as_array) {
                    Some(items) => items.clone(),
                    None => vec![value.clone()],
                };
                let list_meta = value.get("items").and(value.get("metadata")).cloned().unwrap_or(json!({}));
                json_response(code, &table(resource, &items, list_meta, jiff::Timestamp::now()), "application/json")
            } else if as_yaml {
                Response::builder()
                    .status(code)
                    .header(CONTENT_TYPE, "application/yaml")
                    .body(full(body::to_yaml(&value)))
                    .expect("static response parts are valid")
            } else {
                json_response(code, &value, "application/json")
            }
        };
        match info.verb {
            Verb::Get => {
                let obj = registry.get(namespace, name, read.resource_version).await?;
                Ok(respond(StatusCode::OK, Value::Object(obj)))
            }
            Verb::List => {
                let options = ListOptions {
                    read,
                    label_selector: query.get("labelSelector").map(String::as_str),
                    field_selector: query.get("fieldSelector").map(String::as_str),
                };
                if !plain_json {
                    return Ok(respond(StatusCode::OK, registry.list(namespace, options).await?));
                }
                // Plain JSON: the items go out as stored, without a decode and re-encode.
                let body = registry.list_json(namespace, options).await?;
                Ok(Response::builder()
                    .header(CONTENT_TYPE, "application/json")
                    .body(full(body))
                    .expect("static response parts are valid"))
            }
            Verb::Watch => {
                let options = WatchOptions {
                    read,
                    label_selector: query.get("labelSelector").map(String::as_str),
                    field_selector: query.get("fieldSelector").map(String::as_str),
                    json_lines: plain_json,
                };
                let timeout = query
                    .get("timeoutSeconds")
                    .and_then(|t| t.parse::<u64>().ok())
                    .filter(|&t| t > 0)
                    .map_or(DEFAULT_WATCH_TIMEOUT, Duration::from_secs);
                let events = registry.watch(namespace, options).await?;
                let mut stopping = self.stopping.subscribe();
                let end = async move {
                    tokio::select! {
                        () = tokio::time::sleep(timeout) => {}
                        _ = stopping.wait_for(|stopping| *stopping) => {}
                    }
                };
                let frames = events.take_until(end).map(move |mut event| {
                    if let Some(line) = event.line.take() {
                        return Ok::<_, Infallible>(Frame::data(line));
                    }
                    // `kubectl get -w` asks for Tables: each object becomes a one-row Table.
                    if as_table && matches!(event.kind, "ADDED" | "MODIFIED" | "DELETED") {
                        let rv = event.object.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
                        let object = std::mem::take(&mut event.object);
                        event.object =
                            table(resource, &[object], json!({"resourceVersion": rv}), jiff::Timestamp::now());
                    } else if let Some(version) = as_metadata.filter(|_| event.kind != "ERROR") {
                        event.object = partial_metadata::convert(&event.object, version);
                    }
                    let mut line = serde_json::to_vec(&event.to_json()).expect("JSON values serialise");
                    line.push(b'\n');
                    Ok::<_, Infallible>(Frame::data(Bytes::from(line)))
                });
                Ok(Response::builder()
                    .header(CONTENT_TYPE, "application/json")
                    .header("Transfer-Encoding", "chunked")
                    .body(BodyExt::boxed_unsync(StreamBody::new(frames)))
                    .expect("valid"))
            }
            Verb::Create => {
                let options = write_options(query, &user_agent(&req), "CreateOptions", None)?;
                let validation = field_validation(query)?;
                let (body, duplicates) = read_object(req).await?;
                let warnings = check_fields(registry, &body, &duplicates, validation)?;
                let obj = registry.create(namespace, body, options).await?;
                Ok(with_warnings(respond(StatusCode::CREATED, Value::Object(obj)), &warnings))
            }
            Verb::Update => {
                let options = write_options(query, &user_agent(&req), "UpdateOptions", None)?;
                let validation = field_validation(query)?;
                let (body, duplicates) = read_object(req).await?;
                let warnings = check_fields(registry, &body, &duplicates, validation)?;
                let obj = if status {
                    registry.update_status(namespace, name, body, options).await?
                } else {
                    registry.update(namespace, name, body, options).await?
                };
                Ok(with_warnings(respond(StatusCode::OK, Value::Object(obj)), &warnings))
            }
            Verb::Patch => {
                let user_agent = user_agent(&req);
                let validation = field_validation(query)?;
                let (kind, patch) = read_patch(req).await?;
                let options = write_options(query, &user_agent, "PatchOptions", Some(kind))?;
                // Merge-style patches mirror the object, so their unknown fields are the object's.
                let warnings =
                    if kind == PatchType::Json { Vec::new() } else { check_fields(registry, &patch, &[], validation)? };
                if kind == PatchType::Apply {
                    let applied = if status {
                        registry.apply_status(namespace, name, &patch, options).await?
                    } else {
                        registry.apply(namespace, name, &patch, options).await?
                    };
                    let (code, obj) = match applied {
                        Applied::Created(obj) => (StatusCode::CREATED, obj),
                        Applied::Updated(obj) => (StatusCode::OK, obj),
                    };
                    return Ok(with_warnings(respond(code, Value::Object(obj)), &warnings));
                }
                let obj = if status {
                    registry.patch_status(namespace, name, kind, &patch, options).await?
                } else {
                    registry.patch(namespace, name, kind, &patch, options).await?
                };
                Ok(with_warnings(respond(StatusCode::OK, Value::Object(obj)), &warnings))
            }
            Verb::Delete => {
                let options = delete_options(query, read_optional_json(req).await?)?;
                match registry.delete(namespace, name, &options).await? {
                    Deleted::Gone(obj) if !registry.returns_deleted_object() => Ok(json_response(
                        StatusCode::OK,
                        &deleted_status(resource.group, resource.plural, &obj),
                        "application/json",
                    )),
                    Deleted::Gone(obj) => Ok(respond(StatusCode::OK, Value::Object(obj))),
                    Deleted::Pending(obj) => Ok(respond(StatusCode::OK, Value::Object(obj))),
                }
            }
            Verb::NotAllowed => Err(ApiError::method_not_supported(group_resource, "this method")),
            Verb::DeleteCollection => {
                let options = delete_options(query, read_optional_json(req).await?)?;
                let list = registry
                    .list(
                        namespace,
                        ListOptions {
                            read: ReadParams::default(),
                            label_selector: query.get("labelSelector").map(String::as_str),
                            field_selector: query.get("fieldSelector").map(String::as_str),
                        },
                    )
                    .await?;
                let mut deleted = Vec::new();
                for item in list["items"].as_array().into_iter().flatten() {
                    let item_ns = item.pointer("/metadata/namespace").and_then(Value::as_str);
                    let item_name = item.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                    match registry.delete(item_ns.or(namespace), item_name, &options).await {
                        Ok(Deleted::Gone(obj) | Deleted::Pending(obj)) => deleted.push(Value::Object(obj)),
                        Err(err) if err.code() == 404 => {}
                        Err(err) => return Err(err),
                    }
                }
                let mut result = list;
                result["items"] = json!(deleted);
                Ok(json_response(StatusCode::OK, &result, "application/json"))
            }
        }
    }
}

impl Api {
    /// `serviceaccounts/{name}/token`: a TokenRequest, answered with a signed token (201), or
    /// 404 when this server signs no tokens.
    async fn token_request(
        &self,
        req: Request<Incoming>,
        info: &RequestInfo,
        query: &HashMap<String, String>,
        (group_resource, verb): (apiserver_machinery::GroupResource<'static>, &str),
    ) -> Result<Response<Body>, ApiError> {
        let tokens = self.authn.service_account_tokens().ok_or_else(ApiError::path_not_found)?;
        if info.verb != Verb::Create {
            return Err(ApiError::method_not_supported(group_resource, verb));
        }
        let (Some(namespace), Some(name)) = (info.namespace.as_deref(), info.name.as_deref()) else {
            return Err(ApiError::path_not_found());
        };
        let options = write_options(query, &user_agent(&req), "CreateOptions", None)?;
        let body = read_json(req).await?;
        let now = jiff::Timestamp::now();
        let issued = serviceaccount_token::create_token(
            tokens,
            &self.token_objects,
            namespace,
            name,
            &body,
            options.dry_run,
            now,
        )
        .await?;
        Ok(with_warnings(json_response(StatusCode::CREATED, &issued.answer, "application/json"), &issued.warnings))
    }

    /// The metric labels of a request: a served resource's, or one fixed set for everything
    /// else (so unauthenticated paths cannot grow the metric maps).
    fn metric_labels(&self, method: &Method, info: Option<&RequestInfo>) -> RequestLabels {
        let info = info.filter(|info| {
            self.registries.contains_key(&(info.group.as_str(), info.version.as_str(), info.resource.as_str()))
                && info.subresource.as_deref().is_none_or(|s| s == "status")
        });
        let Some(info) = info else {
            let verb = match *method {
                Method::GET | Method::HEAD | Method::POST | Method::PUT | Method::PATCH | Method::DELETE => {
                    method.as_str()
                }
                _ => "other",
            };
            return RequestLabels { verb: verb.to_string(), resource: "other".into(), ..RequestLabels::default() };
        };
        RequestLabels {
            verb: match info.verb {
                Verb::Get => "GET",
                Verb::List => "LIST",
                Verb::Watch => "WATCH",
                Verb::Create => "POST",
                Verb::Update => "PUT",
                Verb::Patch => "PATCH",
                Verb::Delete => "DELETE",
                Verb::DeleteCollection => "DELETECOLLECTION",
                Verb::NotAllowed => method.as_str(),
            }
            .to_string(),
            scope: match (&info.name, &info.namespace) {
                (Some(_), _) => "resource",
                (None, Some(_)) => "namespace",
                (None, None) => "cluster",
            }
            .to_string(),
            group: info.group.clone(),
            version: info.version.clone(),
            resource: info.resource.clone(),
            subresource: info.subresource.clone().unwrap_or_default(),
        }
    }
}

/// `Status: Success` for a completed delete, as upstream returns for most resources.
fn deleted_status(group: &str, plural: &str, obj: &serde_json::Map<String, Value>) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or(json!({}));
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": meta.get("name"), "group": group, "kind": plural, "uid": meta.get("uid")},
    })
}

fn delete_options(query: &HashMap<String, String>, body: Option<Value>) -> Result<DeleteOptions, ApiError> {
    let body = body.unwrap_or(json!({}));
    let policy = query
        .get("propagationPolicy")
        .map(String::as_str)
        .or_else(|| body.get("propagationPolicy").and_then(Value::as_str));
    let propagation = match policy {
        None => None,
        Some("Background") => Some(Propagation::Background),
        Some("Foreground") => Some(Propagation::Foreground),
        Some("Orphan") => Some(Propagation::Orphan),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
    };
    let body_dry_run = body.get("dryRun").and_then(Value::as_array).is_some_and(|d| d.iter().any(|v| v == "All"));
    let grace_period_seconds = match query.get("gracePeriodSeconds") {
        Some(g) => {
            Some(g.parse::<i64>().map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds {g:?}")))?)
        }
        None => body.get("gracePeriodSeconds").and_then(Value::as_i64),
    };
    Ok(DeleteOptions {
        uid: body.pointer("/preconditions/uid").and_then(Value::as_str).map(str::to_string),
        resource_version: body.pointer("/preconditions/resourceVersion").and_then(Value::as_str).map(str::to_string),
        propagation,
        dry_run: dry_run(query)? || body_dry_run,
        grace_period_seconds,
    })
}

async fn read_body(req: Request<Incoming>) -> Result<(Option<String>, Bytes), ApiError> {
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|_| ApiError::too_large(&format!("limit is {MAX_BODY_BYTES}")))?
        .to_bytes();
    Ok((content_type, body))
}

/// `fieldValidation`: what to do about fields the type does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldValidation {
    Strict,
    Warn,
    Ignore,
}

fn field_validation(query: &HashMap<String, String>) -> Result<FieldValidation, ApiError> {
    match query.get("fieldValidation").map(String::as_str) {
        None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
        Some("Strict") => Ok(FieldValidation::Strict),
        Some("Ignore") => Ok(FieldValidation::Ignore),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
        ))),
    }
}

/// Applies `fieldValidation` to a body with the fields its JSON repeated: Strict refuses
/// unknown and duplicate fields (400), Warn returns the warnings to send as `Warning` headers,
/// Ignore says nothing.
fn check_fields(
    registry: &Registry,
    body: &Value,
    duplicates: &[String],
    mode: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    if mode == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let problems: Vec<String> = registry
        .unknown_fields(body)
        .into_iter()
        .map(|f| format!("unknown field \"{f}\""))
        .chain(duplicates.iter().map(|f| format!("duplicate field \"{f}\"")))
        .collect();
    if mode == FieldValidation::Strict && !problems.is_empty() {
        return Err(ApiError::bad_request(format!("strict decoding error: {}", problems.join(", "))));
    }
    Ok(problems)
}

/// Adds one `Warning: 299 - "..."` header per warning.
fn with_warnings(mut response: Response<Body>, warnings: &[String]) -> Response<Body> {
    for warning in warnings {
        let text = format!("299 - {}", serde_json::to_string(warning).expect("strings serialise"));
        if let Ok(value) = http::HeaderValue::from_str(&text) {
            response.headers_mut().append("Warning", value);
        }
    }
    response
}

/// A PATCH body and its type (from `Content-Type`).
async fn read_patch(req: Request<Incoming>) -> Result<(PatchType, Value), ApiError> {
    let (content_type, body) = read_body(req).await?;
    let kind = content_type
        .as_deref()
        .and_then(PatchType::from_content_type)
        .ok_or_else(|| ApiError::unsupported_media_type(PatchType::ACCEPTED))?;
    // A server-side apply body is YAML (JSON included).
    let patch = if kind == PatchType::Apply {
        body::parse_yaml(&body)?
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("json parse error: {e}")))?
    };
    Ok((kind, patch))
}

/// An object body and the fields it repeats.
async fn read_object(req: Request<Incoming>) -> Result<(Value, Vec<String>), ApiError> {
    let (content_type, body) = read_body(req).await?;
    body::decode_tracking_duplicates(content_type.as_deref(), &body)
}

async fn read_json(req: Request<Incoming>) -> Result<Value, ApiError> {
    let (content_type, body) = read_body(req).await?;
    body::decode(content_type.as_deref(), &body)
}

async fn read_optional_json(req: Request<Incoming>) -> Result<Option<Value>, ApiError> {
    let (content_type, body) = read_body(req).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    body::decode(content_type.as_deref(), &body).map(Some)
}

/// `/version`: Kubernetes v1.35.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "35",
        "emulationMajor": "1",
        "emulationMinor": "35",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "34",
        "gitVersion": "v1.35.0-kybernetes",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "n/a (rust)",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
    })
}
