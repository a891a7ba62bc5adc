//! `/openapi/v3` (an index of per-group-version documents) and `/openapi/v2` (one Swagger
//! document), built on first use from the registry's schemas ([`apiserver_registry::schema`]).
//! kubectl reads them for `explain`, for deciding that the server validates fields itself
//! (`fieldValidation` on a kind's PATCH operation), and for client-side apply's patches.

mod operations;

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use apiserver_machinery::ApiError;
use apiserver_machinery::resources::ResourceInfo;
use apiserver_registry::schema::{Gvk, PATCH_DEFINITION, REF_PREFIX, schemas};
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, LOCATION};
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use self::operations::PathItem;
use crate::handlers::{Body, full};

/// The OpenAPI documents of the served resources.
#[derive(Debug)]
pub struct OpenApi {
    resources: Vec<&'static ResourceInfo>,
    built: OnceLock<Documents>,
}

#[derive(Debug)]
struct Documents {
    index: Bytes,
    /// `api/v1`, `apis/apps/v1`, ... → the document and its hash.
    group_versions: HashMap<String, (Bytes, String)>,
    v2: Bytes,
}

impl OpenApi {
    /// The documents of `resources` (built when first asked for).
    pub fn new(resources: Vec<&'static ResourceInfo>) -> Self {
        Self { resources, built: OnceLock::new() }
    }

    /// Answers `GET /openapi/...`; `None` when the path is not an OpenAPI path.
    pub fn serve(
        &self,
        path: &str,
        query: &HashMap<String, String>,
        accept: &str,
    ) -> Option<Result<Response<Body>, ApiError>> {
        let rest = path.strip_prefix("/openapi/")?;
        let docs = self.built.get_or_init(|| build(&self.resources));
        Some(match rest {
            "v3" => Ok(document(docs.index.clone(), None, "no-cache, private")),
            "v2" => {
                // kubectl asks for v2 as protobuf only, as a fallback when v3 does not answer;
                // the JSON form serves everyone else.
                let json = accept.is_empty()
                    || accept.split(',').any(|a| {
                        let media = a.split(';').next().unwrap_or("").trim();
                        matches!(media, "application/json" | "*/*" | "application/*")
                    });
                if json {
                    Ok(document(docs.v2.clone(), None, "no-cache, private"))
                } else {
                    Err(ApiError::not_acceptable("only the following media types are accepted: application/json"))
                }
            }
            _ => {
                let gv = rest.strip_prefix("v3/")?;
                let (body, hash) = docs.group_versions.get(gv)?;
                match query.get("hash") {
                    Some(asked) if asked != hash => {
                        // A stale hash: send the client to the current document, as upstream does.
                        Ok(Response::builder()
                            .status(StatusCode::MOVED_PERMANENTLY)
                            .header(LOCATION, format!("/openapi/v3/{gv}?hash={hash}"))
                            .body(full(Bytes::new()))
                            .expect("valid"))
                    }
                    Some(_) => Ok(document(body.clone(), Some(hash), "public, immutable")),
                    None => Ok(document(body.clone(), Some(hash), "no-cache, private")),
                }
            }
        })
    }
}

fn document(body: Bytes, hash: Option<&str>, cache: &str) -> Response<Body> {
    let mut response = Response::builder().header(CONTENT_TYPE, "application/json").header(CACHE_CONTROL, cache);
    if let Some(hash) = hash {
        response = response.header(ETAG, format!("\"{hash}\""));
    }
    response.body(full(body)).expect("valid")
}

fn hash_of(bytes: &[u8]) -> String {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    format!("{:016X}", hasher.finish())
}

/// Definitions every document carries besides those its operations name.
const COMMON_DEFINITIONS: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    PATCH_DEFINITION,
];

fn build(resources: &[&'static ResourceInfo]) -> Documents {
    let schemas = schemas();
    let definitions = &schemas.definitions;
    let mut by_group_version: BTreeMap<String, Vec<PathItem>> = BTreeMap::new();
    let mut all_paths = Vec::new();
    for r in resources {
        let gvk = |kind: String| Gvk { group: r.group.into(), version: r.version.into(), kind };
        let Some(kind_def) = schemas.kind(&gvk(r.kind.into())) else {
            tracing::warn!(kind = r.kind, group = r.group, "no OpenAPI schema for a served kind");
            continue;
        };
        let list_def = schemas.kind(&gvk(format!("{}List", r.kind))).unwrap_or_default();
        let items = operations::resource_paths(r, kind_def, list_def);
        let key =
            if r.group.is_empty() { format!("api/{}", r.version) } else { format!("apis/{}/{}", r.group, r.version) };
        all_paths.extend(items.iter().cloned());
        by_group_version.entry(key).or_default().extend(items);
    }

    let mut index = Map::new();
    let mut group_versions = HashMap::new();
    for (gv, items) in &by_group_version {
        let mut roots: Vec<&str> = COMMON_DEFINITIONS.to_vec();
        for op in items.iter().flat_map(|i| &i.operations) {
            roots.push(&op.response);
            if let Some((def, _)) = &op.body {
                roots.push(def);
            }
        }
        let mut components = Map::new();
        for name in schemas.reachable(roots) {
            components.insert(name.clone(), definitions[&name].clone());
        }
        let doc = json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.35.0"},
            "paths": operations::render_v3(items),
            "components": {
                "schemas": components,
                "securitySchemes": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}},
            },
            "security": [{"BearerToken": []}],
        });
        let body = Bytes::from(serde_json::to_vec(&doc).expect("JSON values serialise"));
        let hash = hash_of(&body);
        index.insert(gv.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={hash}")}));
        group_versions.insert(gv.clone(), (body, hash));
    }

    // v2: one document, definitions under `#/definitions/`.
    let v2_definitions =
        serde_json::to_string(definitions).expect("JSON values serialise").replace(REF_PREFIX, "#/definitions/");
    let v2 = json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.35.0"},
        "paths": operations::render_v2(&all_paths),
        "definitions": serde_json::from_str::<Value>(&v2_definitions).expect("re-parses"),
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    });
    Documents {
        index: Bytes::from(serde_json::to_vec(&json!({"paths": index})).expect("JSON values serialise")),
        group_versions,
        v2: Bytes::from(serde_json::to_vec(&v2).expect("JSON values serialise")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built() -> Documents {
        let resources = apiserver_registry::resources::all().iter().map(|s| s.resource()).collect::<Vec<_>>();
        build(&resources)
    }

    #[test]
    fn every_document_is_self_contained_and_names_its_kinds() {
        let docs = built();
        let index: Value = serde_json::from_slice(&docs.index).expect("json");
        for gv in ["api/v1", "apis/apps/v1", "apis/batch/v1", "apis/rbac.authorization.k8s.io/v1"] {
            let url = index["paths"][gv]["serverRelativeURL"].as_str().expect("listed");
            let (body, hash) = &docs.group_versions[gv];
            assert!(url.ends_with(hash.as_str()));
            let doc: Value = serde_json::from_slice(body).expect("json");
            let schemas = doc["components"]["schemas"].as_object().expect("schemas");
            let text = String::from_utf8_lossy(body);
            for reference in text.split("\"$ref\":\"").skip(1) {
                let name = reference.split('"').next().unwrap_or("").trim_start_matches(REF_PREFIX);
                assert!(schemas.contains_key(name), "{gv} refers to undefined {name}");
            }
        }
    }

    /// What kubectl's validation looks for: the kind's PATCH operation with `fieldValidation`.
    #[test]
    fn patch_operations_declare_field_validation() {
        let docs = built();
        let doc: Value = serde_json::from_slice(&docs.group_versions["apis/apps/v1"].0).expect("json");
        let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "kind": "Deployment", "version": "v1"})
        );
        let params: Vec<&str> =
            patch["parameters"].as_array().expect("params").iter().filter_map(|p| p["name"].as_str()).collect();
        assert!(params.contains(&"fieldValidation"), "{params:?}");
        assert!(patch["requestBody"]["content"].get("application/strategic-merge-patch+json").is_some());
    }

    /// `kubectl create token`'s path, as upstream documents it.
    #[test]
    fn service_account_tokens_are_created_with_token_requests() {
        let docs = built();
        let doc: Value = serde_json::from_slice(&docs.group_versions["api/v1"].0).expect("json");
        let post = &doc["paths"]["/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token"]["post"];
        assert_eq!(post["operationId"], "createCoreV1NamespacedServiceAccountToken");
        assert_eq!(
            post["x-kubernetes-group-version-kind"],
            json!({"group": "authentication.k8s.io", "kind": "TokenRequest", "version": "v1"})
        );
        let definition = "io.k8s.api.authentication.v1.TokenRequest";
        assert_eq!(post["requestBody"]["content"]["*/*"]["schema"]["$ref"], format!("{REF_PREFIX}{definition}"));
        assert!(doc["components"]["schemas"][definition]["properties"]["status"].is_object());
    }

    #[test]
    fn v2_refers_to_its_own_definitions() {
        let docs = built();
        let text = std::str::from_utf8(&docs.v2).expect("utf-8");
        assert!(!text.contains(REF_PREFIX));
        let doc: Value = serde_json::from_str(text).expect("json");
        assert!(doc["definitions"]["io.k8s.api.core.v1.Pod"].is_object());
    }
}
