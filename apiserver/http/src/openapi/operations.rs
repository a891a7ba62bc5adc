//! The `paths` of an OpenAPI document: one operation per served verb of each resource and
//! subresource, named and parameterised like upstream's (kubectl's validation looks for the
//! `fieldValidation` parameter of the PATCH operation of a kind; client-side apply looks at
//! the PATCH request body types).

use apiserver_machinery::resources::{ResourceInfo, Verb};
use apiserver_registry::schema::{PATCH_DEFINITION, REF_PREFIX};
use serde_json::{Map, Value, json};

/// Query parameters by what an operation does.
const LIST_PARAMS: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
const WRITE_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];
const PATCH_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "force"];
const DELETE_PARAMS: &[&str] = &["dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy"];

/// Content types a PATCH accepts.
const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// One operation, rendered as OpenAPI v3 or v2 by the caller.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: &'static str,
    pub action: &'static str,
    pub operation_id: String,
    pub description: String,
    pub query: Vec<&'static str>,
    /// Definition of the request body, if any, and its content types.
    pub body: Option<(String, &'static [&'static str])>,
    /// Definition of the answer.
    pub response: String,
    pub gvk: Value,
}

/// A path and its operations.
#[derive(Debug, Clone)]
pub struct PathItem {
    pub path: String,
    /// Upstream's tag: `core_v1`, `apps_v1`, `rbacAuthorization_v1`.
    pub tag: String,
    pub path_params: Vec<&'static str>,
    pub operations: Vec<Operation>,
}

/// `CoreV1`, `AppsV1`, `RbacAuthorizationV1`: upstream's operation-id infix for a group version.
fn group_version_id(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group.trim_end_matches(".k8s.io") };
    let mut id: String = group.split('.').map(capitalize).collect();
    id.push_str(&capitalize(version));
    id
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

/// The paths of one resource, given the definition names of its kind and list.
pub fn resource_paths(r: &ResourceInfo, kind_def: &str, list_def: &str) -> Vec<PathItem> {
    let prefix =
        if r.group.is_empty() { format!("/api/{}", r.version) } else { format!("/apis/{}/{}", r.group, r.version) };
    let gv = group_version_id(r.group, r.version);
    let tag = {
        let group = &gv[..gv.len() - r.version.len()];
        let mut chars = group.chars();
        let first = chars.next().map(|c| c.to_ascii_lowercase().to_string()).unwrap_or_default();
        format!("{first}{}_{}", chars.as_str(), r.version)
    };
    let (scope, ns_path, ns_params) =
        if r.namespaced { ("Namespaced", "/namespaces/{namespace}", vec!["namespace"]) } else { ("", "", vec![]) };
    let kind = r.kind;
    let this_gvk = gvk(r.group, r.version, kind);
    let op = |method, action, verb: &str, suffix: &str, description: String| Operation {
        method,
        action,
        operation_id: format!("{verb}{gv}{scope}{kind}{suffix}"),
        description,
        query: Vec::new(),
        body: None,
        response: kind_def.to_string(),
        gvk: this_gvk.clone(),
    };
    let mut collection = Vec::new();
    if r.serves(Verb::List) {
        collection.push(Operation {
            query: LIST_PARAMS.to_vec(),
            response: list_def.to_string(),
            ..op("get", "list", "list", "", format!("list or watch objects of kind {kind}"))
        });
    }
    if r.serves(Verb::Create) {
        collection.push(Operation {
            query: WRITE_PARAMS.to_vec(),
            body: Some((kind_def.to_string(), &["*/*"])),
            ..op("post", "post", "create", "", format!("create a {kind}"))
        });
    }
    if r.serves(Verb::DeleteCollection) {
        let mut query = LIST_PARAMS.to_vec();
        query.extend(DELETE_PARAMS);
        collection.push(Operation {
            query,
            body: Some(("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions".into(), &["*/*"])),
            response: "io.k8s.apimachinery.pkg.apis.meta.v1.Status".into(),
            ..op("delete", "deletecollection", "deleteCollection", "", format!("delete collection of {kind}"))
        });
    }
    let mut item = Vec::new();
    if r.serves(Verb::Get) {
        item.push(op("get", "get", "read", "", format!("read the specified {kind}")));
    }
    if r.serves(Verb::Update) {
        item.push(Operation {
            query: WRITE_PARAMS.to_vec(),
            body: Some((kind_def.to_string(), &["*/*"])),
            ..op("put", "put", "replace", "", format!("replace the specified {kind}"))
        });
    }
    if r.serves(Verb::Patch) {
        item.push(Operation {
            query: PATCH_PARAMS.to_vec(),
            body: Some((PATCH_DEFINITION.into(), PATCH_TYPES)),
            ..op("patch", "patch", "patch", "", format!("partially update the specified {kind}"))
        });
    }
    if r.serves(Verb::Delete) {
        item.push(Operation {
            query: DELETE_PARAMS.to_vec(),
            body: Some(("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions".into(), &["*/*"])),
            response: "io.k8s.apimachinery.pkg.apis.meta.v1.Status".into(),
            ..op("delete", "delete", "delete", "", format!("delete a {kind}"))
        });
    }
    let base = format!("{prefix}{ns_path}/{}", r.plural);
    let mut item_params = ns_params.clone();
    item_params.insert(0, "name");
    let mut paths = vec![
        PathItem { path: base.clone(), tag: tag.clone(), path_params: ns_params.clone(), operations: collection },
        PathItem {
            path: format!("{base}/{{name}}"),
            tag: tag.clone(),
            path_params: item_params.clone(),
            operations: item,
        },
    ];
    if r.namespaced && r.serves(Verb::List) {
        let all = Operation {
            query: LIST_PARAMS.to_vec(),
            response: list_def.to_string(),
            operation_id: format!("list{gv}{kind}ForAllNamespaces"),
            ..op("get", "list", "list", "", format!("list or watch objects of kind {kind}"))
        };
        paths.push(PathItem {
            path: format!("{prefix}/{}", r.plural),
            tag: tag.clone(),
            path_params: vec![],
            operations: vec![all],
        });
    }
    for sub in r.subresources {
        let path = format!("{base}/{{name}}/{}", sub.name);
        let suffix = capitalize(sub.name);
        let operations = match sub.name {
            "status" => vec![
                op("get", "get", "read", &suffix, format!("read status of the specified {kind}")),
                Operation {
                    query: WRITE_PARAMS.to_vec(),
                    body: Some((kind_def.to_string(), &["*/*"])),
                    ..op("put", "put", "replace", &suffix, format!("replace status of the specified {kind}"))
                },
                Operation {
                    query: PATCH_PARAMS.to_vec(),
                    body: Some((PATCH_DEFINITION.into(), PATCH_TYPES)),
                    ..op("patch", "patch", "patch", &suffix, format!("partially update status of the specified {kind}"))
                },
            ],
            "scale" => {
                let scale = "io.k8s.api.autoscaling.v1.Scale".to_string();
                let scale_gvk = gvk("autoscaling", "v1", "Scale");
                let scale_op = |o: Operation| Operation { response: scale.clone(), gvk: scale_gvk.clone(), ..o };
                vec![
                    scale_op(op("get", "get", "read", &suffix, format!("read scale of the specified {kind}"))),
                    scale_op(Operation {
                        query: WRITE_PARAMS.to_vec(),
                        body: Some((scale.clone(), &["*/*"])),
                        ..op("put", "put", "replace", &suffix, format!("replace scale of the specified {kind}"))
                    }),
                    scale_op(Operation {
                        query: PATCH_PARAMS.to_vec(),
                        body: Some((PATCH_DEFINITION.into(), PATCH_TYPES)),
                        ..op(
                            "patch",
                            "patch",
                            "patch",
                            &suffix,
                            format!("partially update scale of the specified {kind}"),
                        )
                    }),
                ]
            }
            "binding" | "eviction" | "token" => {
                let (def, sub_gvk) = match sub.name {
                    "binding" => ("io.k8s.api.core.v1.Binding", gvk("", "v1", "Binding")),
                    "eviction" => ("io.k8s.api.policy.v1.Eviction", gvk("policy", "v1", "Eviction")),
                    _ => (
                        "io.k8s.api.authentication.v1.TokenRequest",
                        gvk("authentication.k8s.io", "v1", "TokenRequest"),
                    ),
                };
                vec![Operation {
                    query: WRITE_PARAMS.to_vec(),
                    body: Some((def.to_string(), &["*/*"])),
                    response: def.to_string(),
                    gvk: sub_gvk,
                    ..op("post", "post", "create", &suffix, format!("create {} of a {kind}", sub.name))
                }]
            }
            _ => continue,
        };
        paths.push(PathItem { path, tag: tag.clone(), path_params: item_params.clone(), operations });
    }
    paths.retain(|p| !p.operations.is_empty());
    paths
}

/// A parameter's OpenAPI description (v3 form: the type sits under `schema`).
fn parameter(name: &str, location: &str) -> Value {
    let (kind, description) = match name {
        "name" => ("string", "name of the object"),
        "namespace" => ("string", "object name and auth scope, such as for teams and projects"),
        "pretty" => ("string", "If 'true', then the output is pretty printed."),
        "allowWatchBookmarks" => ("boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."),
        "continue" => ("string", "The continue option should be set when retrieving more results from the server."),
        "fieldSelector" => ("string", "A selector to restrict the list of returned objects by their fields."),
        "labelSelector" => ("string", "A selector to restrict the list of returned objects by their labels."),
        "limit" => ("integer", "limit is a maximum number of responses to return for a list call."),
        "resourceVersion" => {
            ("string", "resourceVersion sets a constraint on what resource versions a request may be served from.")
        }
        "resourceVersionMatch" => {
            ("string", "resourceVersionMatch determines how resourceVersion is applied to list calls.")
        }
        "sendInitialEvents" => (
            "boolean",
            "`sendInitialEvents=true` may be set together with `watch=true`: the stream begins with synthetic events of the current state.",
        ),
        "timeoutSeconds" => ("integer", "Timeout for the list/watch call."),
        "watch" => ("boolean", "Watch for changes to the described resources."),
        "dryRun" => ("string", "When present, indicates that modifications should not be persisted. Valid value: All."),
        "fieldManager" => {
            ("string", "fieldManager is a name associated with the actor or entity that is making these changes.")
        }
        "fieldValidation" => (
            "string",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values: Ignore, Warn (the default), Strict.",
        ),
        "force" => (
            "boolean",
            "Force is going to \"force\" Apply requests: the user re-acquires conflicting fields owned by other people. Must be unset for non-apply patch requests.",
        ),
        "gracePeriodSeconds" => ("integer", "The duration in seconds before the object should be deleted."),
        "orphanDependents" => ("boolean", "Deprecated: please use the PropagationPolicy."),
        "propagationPolicy" => {
            ("string", "Whether and how garbage collection will be performed: Orphan, Background or Foreground.")
        }
        _ => ("string", ""),
    };
    let mut schema = json!({"type": kind, "uniqueItems": true});
    if kind == "string" && location == "path" {
        schema = json!({"type": "string", "uniqueItems": true});
    }
    let mut p = json!({"name": name, "in": location, "description": description, "schema": schema});
    if location == "path" {
        p["required"] = json!(true);
    }
    p
}

/// `paths` of an OpenAPI v3 document.
pub fn render_v3(items: &[PathItem]) -> Map<String, Value> {
    let mut paths = Map::new();
    for item in items {
        let mut entry = Map::new();
        let mut params: Vec<Value> = item.path_params.iter().map(|p| parameter(p, "path")).collect();
        params.push(parameter("pretty", "query"));
        entry.insert("parameters".into(), json!(params));
        for op in &item.operations {
            let schema = json!({"$ref": format!("{REF_PREFIX}{}", op.response)});
            let code = match op.action {
                "post" => "201",
                _ => "200",
            };
            let mut responses = Map::new();
            responses.insert(
                code.into(),
                json!({"description": "OK", "content": {
                    "application/json": {"schema": schema},
                    "application/yaml": {"schema": schema},
                }}),
            );
            responses.insert("401".into(), json!({"description": "Unauthorized"}));
            let mut operation = json!({
                "tags": [item.tag],
                "description": op.description,
                "operationId": op.operation_id,
                "parameters": op.query.iter().map(|p| parameter(p, "query")).collect::<Vec<_>>(),
                "responses": responses,
                "x-kubernetes-action": op.action,
                "x-kubernetes-group-version-kind": op.gvk,
            });
            if let Some((def, types)) = &op.body {
                let schema = json!({"$ref": format!("{REF_PREFIX}{def}")});
                let content: Map<String, Value> =
                    types.iter().map(|t| (t.to_string(), json!({"schema": schema}))).collect();
                operation["requestBody"] = json!({"content": content, "required": op.method != "delete"});
            }
            entry.insert(op.method.into(), operation);
        }
        paths.insert(item.path.clone(), Value::Object(entry));
    }
    paths
}

/// `paths` of an OpenAPI v2 (Swagger) document: the body is a parameter, types sit inline.
pub fn render_v2(items: &[PathItem]) -> Map<String, Value> {
    let v2_parameter = |name: &str, location: &str| {
        let mut p = parameter(name, location);
        if let Some(Value::Object(schema)) = p.as_object_mut().and_then(|p| p.remove("schema")) {
            p.as_object_mut().expect("object").extend(schema);
        }
        p
    };
    let mut paths = Map::new();
    for item in items {
        let mut entry = Map::new();
        let mut params: Vec<Value> = item.path_params.iter().map(|p| v2_parameter(p, "path")).collect();
        params.push(v2_parameter("pretty", "query"));
        entry.insert("parameters".into(), json!(params));
        for op in &item.operations {
            let mut parameters: Vec<Value> = op.query.iter().map(|p| v2_parameter(p, "query")).collect();
            let mut consumes = json!(["*/*"]);
            if let Some((def, types)) = &op.body {
                parameters.insert(
                    0,
                    json!({"name": "body", "in": "body", "required": op.method != "delete",
                           "schema": {"$ref": format!("#/definitions/{def}")}}),
                );
                consumes = json!(types);
            }
            let code = if op.action == "post" { "201" } else { "200" };
            let operation = json!({
                "tags": [item.tag],
                "description": op.description,
                "operationId": op.operation_id,
                "consumes": consumes,
                "produces": ["application/json", "application/yaml"],
                "schemes": ["https"],
                "parameters": parameters,
                "responses": {
                    code: {"description": "OK", "schema": {"$ref": format!("#/definitions/{}", op.response)}},
                    "401": {"description": "Unauthorized"},
                },
                "x-kubernetes-action": op.action,
                "x-kubernetes-group-version-kind": op.gvk,
            });
            entry.insert(op.method.into(), operation);
        }
        paths.insert(item.path.clone(), Value::Object(entry));
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_follow_upstream() {
        assert_eq!(group_version_id("", "v1"), "CoreV1");
        assert_eq!(group_version_id("apps", "v1"), "AppsV1");
        assert_eq!(group_version_id("rbac.authorization.k8s.io", "v1"), "RbacAuthorizationV1");
        let pods = apiserver_machinery::resources::find("", "v1", "pods").expect("pods");
        let paths = resource_paths(pods, "io.k8s.api.core.v1.Pod", "io.k8s.api.core.v1.PodList");
        let ids: Vec<&str> = paths.iter().flat_map(|p| &p.operations).map(|o| o.operation_id.as_str()).collect();
        for id in [
            "listCoreV1NamespacedPod",
            "patchCoreV1NamespacedPod",
            "readCoreV1NamespacedPodStatus",
            "listCoreV1PodForAllNamespaces",
            "createCoreV1NamespacedPodBinding",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
    }
}
