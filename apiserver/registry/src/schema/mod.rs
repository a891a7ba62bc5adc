//! The OpenAPI (v3) schemas of every served type, generated from k8s-openapi's own schemas and
//! annotated with what upstream's published spec carries and k8s-openapi's lack: each kind's
//! `x-kubernetes-group-version-kind`, and the merge metadata of fields ([`list_fields`]) that
//! kubectl's client-side apply, strategic merge patch and server-side apply read.
//!
//! Built once per process ([`schemas`]); the HTTP layer turns it into the `/openapi` documents.

pub mod list_fields;

use std::collections::HashMap;
use std::sync::LazyLock;

use k8s_openapi::api::{authentication, authorization, autoscaling, core, policy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::schemars::generate::SchemaSettings;
use k8s_openapi::schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::resources;

/// Where definitions live in an OpenAPI v3 document (and in [`Schemas::definitions`]' refs).
pub const REF_PREFIX: &str = "#/components/schemas/";

/// The definition every PATCH body refers to (a patch has no schema of its own).
pub const PATCH_DEFINITION: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";

/// A kind's identity in `x-kubernetes-group-version-kind`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Gvk {
    /// API group ("" for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

/// Every served type's schema.
#[derive(Debug)]
pub struct Schemas {
    /// Definition name (e.g. `io.k8s.api.core.v1.Pod`) → its OpenAPI v3 schema.
    pub definitions: Map<String, Value>,
    kinds: HashMap<Gvk, String>,
}

/// The schemas of this build, generated on first use.
pub fn schemas() -> &'static Schemas {
    static SCHEMAS: LazyLock<Schemas> = LazyLock::new(Schemas::generate);
    &SCHEMAS
}

impl Schemas {
    fn generate() -> Self {
        let mut generator = SchemaGenerator::new(SchemaSettings::openapi3());
        let mut kinds: Vec<(Gvk, String)> = Vec::new();
        for strategy in resources::all() {
            let r = strategy.resource();
            let reference = strategy.schema(&mut generator);
            let name = definition_of(reference.as_value()).expect("a kind's schema is a definition").to_string();
            let gvk = Gvk { group: r.group.into(), version: r.version.into(), kind: r.kind.into() };
            let list = Gvk { kind: format!("{}List", r.kind), ..gvk.clone() };
            kinds.push((gvk, name.clone()));
            kinds.push((list, format!("{name}List")));
        }
        // Kinds served outside the generic registry: subresources, reviews, errors.
        kind::<autoscaling::v1::Scale>(&mut generator, &mut kinds);
        kind::<policy::v1::Eviction>(&mut generator, &mut kinds);
        kind::<core::v1::Binding>(&mut generator, &mut kinds);
        kind::<authentication::v1::TokenRequest>(&mut generator, &mut kinds);
        kind::<meta::Status>(&mut generator, &mut kinds);
        kind::<authentication::v1::SelfSubjectReview>(&mut generator, &mut kinds);
        kind::<authentication::v1::TokenReview>(&mut generator, &mut kinds);
        kind::<authorization::v1::SelfSubjectAccessReview>(&mut generator, &mut kinds);
        kind::<authorization::v1::SelfSubjectRulesReview>(&mut generator, &mut kinds);
        kind::<authorization::v1::SubjectAccessReview>(&mut generator, &mut kinds);
        kind::<authorization::v1::LocalSubjectAccessReview>(&mut generator, &mut kinds);
        generator.subschema_for::<meta::DeleteOptions>();
        generator.subschema_for::<meta::WatchEvent<meta::Status>>();

        let mut definitions = generator.take_definitions(true);
        definitions.insert(
            PATCH_DEFINITION.into(),
            json!({"description": "Patch is the body of a PATCH request; its content type says which kind of patch.", "type": "object"}),
        );
        for (gvk, name) in &kinds {
            if let Some(item) = name.strip_suffix("List").filter(|_| gvk.kind.ends_with("List")) {
                definitions.insert(name.clone(), list_schema(&gvk.kind, item));
            }
        }
        for (name, schema) in &mut definitions {
            annotate(name, schema);
        }
        for (gvk, name) in &kinds {
            if let Some(Value::Object(schema)) = definitions.get_mut(name) {
                schema.insert(
                    "x-kubernetes-group-version-kind".into(),
                    json!([{"group": gvk.group, "kind": gvk.kind, "version": gvk.version}]),
                );
                // k8s-openapi requires `metadata` (a non-optional Rust field); the API does not.
                if let Some(Value::Array(required)) = schema.get_mut("required") {
                    required.retain(|field| field != "metadata");
                    if required.is_empty() {
                        schema.remove("required");
                    }
                }
            }
        }
        Self { definitions, kinds: kinds.into_iter().collect() }
    }

    /// The definition name of a served kind.
    pub fn kind(&self, gvk: &Gvk) -> Option<&str> {
        self.kinds.get(gvk).map(String::as_str)
    }

    /// The definitions `roots` refer to, directly or not (roots included), sorted.
    pub fn reachable<'a>(&self, roots: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        let mut pending: Vec<String> = roots.into_iter().map(str::to_string).collect();
        while let Some(name) = pending.pop() {
            if !self.definitions.contains_key(&name) || !seen.insert(name.clone()) {
                continue;
            }
            collect_refs(&self.definitions[&name], &mut pending);
        }
        seen.into_iter().collect()
    }
}

fn kind<T: JsonSchema + k8s_openapi::Resource>(generator: &mut SchemaGenerator, kinds: &mut Vec<(Gvk, String)>) {
    generator.subschema_for::<T>();
    let gvk = Gvk { group: T::GROUP.into(), version: T::VERSION.into(), kind: T::KIND.into() };
    kinds.push((gvk, T::schema_name().into_owned()));
}

/// The definition a schema refers to: `{"$ref": ...}` or upstream's `{"allOf": [{"$ref": ...}]}`.
pub(crate) fn definition_of(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .or_else(|| schema.get("allOf")?.as_array()?.first()?.get("$ref"))
        .and_then(Value::as_str)?
        .strip_prefix(REF_PREFIX)
}

fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(REF_PREFIX)) {
                out.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// A `<Kind>List` definition (k8s-openapi's `List<T>` has no schema of its own).
fn list_schema(kind: &str, item: &str) -> Value {
    let item_kind = kind.strip_suffix("List").unwrap_or(kind);
    json!({
        "description": format!("{kind} is a list of {item_kind} objects."),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation of an object.",
                "type": "string",
            },
            "items": {
                "description": format!("The {item_kind} objects."),
                "type": "array",
                "items": {"allOf": [{"$ref": format!("{REF_PREFIX}{item}")}], "default": {}},
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource this object represents.",
                "type": "string",
            },
            "metadata": {
                "allOf": [{"$ref": format!("{REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta")}],
                "default": {},
                "description": "Standard list metadata.",
            },
        },
        "required": ["items"],
    })
}

/// Adds the merge metadata of `definition`'s fields and of the type itself.
fn annotate(definition: &str, schema: &mut Value) {
    let Value::Object(schema) = schema else { return };
    if let Some(map_type) = list_fields::struct_map_type(definition) {
        schema.insert("x-kubernetes-map-type".into(), json!(map_type));
    }
    let Some(Value::Object(properties)) = schema.get_mut("properties") else { return };
    for (property, field_schema) in properties.iter_mut() {
        let (Some(merge), Value::Object(field_schema)) = (list_fields::field(definition, property), field_schema)
        else {
            continue;
        };
        if let Some(strategy) = merge.patch_strategy {
            field_schema.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
        }
        if let Some(key) = merge.patch_merge_key {
            field_schema.insert("x-kubernetes-patch-merge-key".into(), json!(key));
        }
        if let Some(list_type) = merge.list_type {
            let list_type = match list_type {
                list_fields::ListType::Atomic => "atomic",
                list_fields::ListType::Set => "set",
                list_fields::ListType::Map => "map",
            };
            field_schema.insert("x-kubernetes-list-type".into(), json!(list_type));
        }
        if !merge.list_map_keys.is_empty() {
            field_schema.insert("x-kubernetes-list-map-keys".into(), json!(merge.list_map_keys));
        }
        if let Some(map_type) = merge.map_type {
            field_schema.insert("x-kubernetes-map-type".into(), json!(map_type));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gvk(group: &str, version: &str, kind: &str) -> Gvk {
        Gvk { group: group.into(), version: version.into(), kind: kind.into() }
    }

    #[test]
    fn every_served_kind_and_its_list_has_an_annotated_definition() {
        let schemas = schemas();
        for strategy in resources::all() {
            let r = strategy.resource();
            for kind in [r.kind.to_string(), format!("{}List", r.kind)] {
                let name = schemas.kind(&gvk(r.group, r.version, &kind)).expect("kind known");
                let schema = &schemas.definitions[name];
                assert_eq!(
                    schema["x-kubernetes-group-version-kind"],
                    json!([{"group": r.group, "kind": kind, "version": r.version}])
                );
            }
        }
        let pod = &schemas.definitions["io.k8s.api.core.v1.Pod"];
        assert!(pod.get("required").is_none(), "metadata is not required: {pod}");
    }

    #[test]
    fn merge_metadata_is_on_the_properties() {
        let spec = &schemas().definitions["io.k8s.api.core.v1.PodSpec"]["properties"];
        assert_eq!(spec["containers"]["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(spec["containers"]["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(spec["containers"]["x-kubernetes-list-type"], "map");
        assert_eq!(spec["containers"]["x-kubernetes-list-map-keys"], json!(["name"]));
    }

    #[test]
    fn refs_resolve() {
        let schemas = schemas();
        let names = schemas.reachable(["io.k8s.api.apps.v1.Deployment"]);
        assert!(names.contains(&"io.k8s.api.core.v1.Container".to_string()));
        for name in &names {
            let mut refs = Vec::new();
            collect_refs(&schemas.definitions[name], &mut refs);
            for r in refs {
                assert!(schemas.definitions.contains_key(&r), "{name} refers to missing {r}");
            }
        }
    }
}
