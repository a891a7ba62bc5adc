//! What merging needs to know about a value beyond its JSON: the type it has in its kind's
//! schema ([`crate::schema`]) and, from that type, how each of its fields merges. Strategic merge
//! patch, server-side apply and the managed-fields bookkeeping all walk objects with a [`Shape`],
//! so one table ([`crate::schema::list_fields`], upstream's OpenAPI annotations) decides every
//! list and every atomic struct for all three.
//!
//! ```text
//! Shape::of("apps/v1", "Deployment")            io.k8s.api.apps.v1.Deployment
//!   .field("spec").shape.field("template")...   io.k8s.api.core.v1.PodTemplateSpec
//!   .field("containers")                        list: Map(["name"]), patch: Key("name"),
//!                                               shape: io.k8s.api.core.v1.Container (each item)
//! ```
//!
//! A value of unknown type (a kind without a schema, a free-form field) has the empty shape:
//! its maps merge key by key and its lists are atomic, as upstream treats untyped values.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use crate::schema::{self, list_fields};

/// The type of a value: an OpenAPI definition, or a map of values of a definition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// The definition (`io.k8s.api.core.v1.PodSpec`); `None` when unknown or not a definition.
    definition: Option<&'static str>,
    /// The value is a map (`additionalProperties`) whose values have `definition`'s type.
    map: bool,
}

/// How server-side apply treats a list (`x-kubernetes-list-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// One value: replaced whole, owned whole.
    Atomic,
    /// A set of scalars: merged item by item, each item owned (`v:<value>`).
    Set,
    /// A map keyed by these fields of its items: merged and owned item by item
    /// (`k:{"name":"app"}`).
    Map(&'static [&'static str]),
}

/// How strategic merge patch treats a list (`patchStrategy`, `patchMergeKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchList {
    /// Replaced by the patch's list.
    Replace,
    /// Merged as a set of scalars.
    Set,
    /// Merged element by element by this key.
    Key(&'static str),
}

/// What a field of an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The type of the field's value, or of each item when the value is a list.
    pub shape: Shape,
    /// The value (each item, for a list) is one value: merged and owned whole.
    pub atomic: bool,
    /// How server-side apply merges the field when it is a list.
    pub list: ListType,
    /// How strategic merge patch merges the field when it is a list.
    pub patch: PatchList,
    /// Upstream's typed objects always have this field (a Go struct, not a pointer), so it is
    /// never "added" to an object that exists: its entry in `managedFields` has no `.` of its
    /// own. JSON cannot tell; [`PRESENT`] lists the fields where it shows.
    pub present: bool,
}

/// A field of unknown type: granular maps, atomic lists.
const UNKNOWN: Field = Field {
    shape: Shape { definition: None, map: false },
    atomic: false,
    list: ListType::Atomic,
    patch: PatchList::Replace,
    present: false,
};

/// Struct fields upstream never omits from an existing object (non-pointer Go structs, and
/// `containers`, serialised even when null), by (definition, property); `metadata`, `spec` and
/// `status` of every definition too. Only the `.` entries of `managedFields` depend on them.
const PRESENT: &[(&str, &str)] = &[
    ("io.k8s.api.apps.v1.DaemonSetSpec", "template"),
    ("io.k8s.api.apps.v1.DaemonSetSpec", "updateStrategy"),
    ("io.k8s.api.apps.v1.DeploymentSpec", "strategy"),
    ("io.k8s.api.apps.v1.DeploymentSpec", "template"),
    ("io.k8s.api.apps.v1.ReplicaSetSpec", "template"),
    ("io.k8s.api.apps.v1.StatefulSetSpec", "template"),
    ("io.k8s.api.apps.v1.StatefulSetSpec", "updateStrategy"),
    ("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec", "scaleTargetRef"),
    ("io.k8s.api.batch.v1.CronJobSpec", "jobTemplate"),
    ("io.k8s.api.batch.v1.JobSpec", "template"),
    ("io.k8s.api.core.v1.Container", "resources"),
    ("io.k8s.api.core.v1.EphemeralContainer", "resources"),
    ("io.k8s.api.core.v1.Event", "involvedObject"),
    ("io.k8s.api.core.v1.Event", "source"),
    ("io.k8s.api.core.v1.NodeDaemonEndpoints", "kubeletEndpoint"),
    ("io.k8s.api.core.v1.NodeStatus", "daemonEndpoints"),
    ("io.k8s.api.core.v1.NodeStatus", "nodeInfo"),
    ("io.k8s.api.core.v1.PersistentVolumeClaimSpec", "resources"),
    ("io.k8s.api.core.v1.PodSpec", "containers"),
    ("io.k8s.api.core.v1.PodTemplate", "template"),
    ("io.k8s.api.core.v1.PreferredSchedulingTerm", "preference"),
    ("io.k8s.api.core.v1.ServiceStatus", "loadBalancer"),
    ("io.k8s.api.core.v1.WeightedPodAffinityTerm", "podAffinityTerm"),
    ("io.k8s.api.networking.v1.IngressStatus", "loadBalancer"),
    ("io.k8s.api.rbac.v1.ClusterRoleBinding", "roleRef"),
    ("io.k8s.api.rbac.v1.RoleBinding", "roleRef"),
];

/// Defaults of map-list key fields an item may leave out (upstream's schema defaults: a port's
/// protocol is TCP), by key field name.
pub fn key_default(key: &str) -> Option<Value> {
    (key == "protocol").then(|| Value::String("TCP".into()))
}

impl Shape {
    /// The shape of objects of a kind; empty for a kind without a schema.
    pub fn of(api_version: &str, kind: &str) -> Self {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = schema::Gvk { group: group.into(), version: version.into(), kind: kind.into() };
        Self { definition: schema::schemas().kind(&gvk), map: false }
    }

    /// The shape of an object's own kind (`apiVersion`, `kind`).
    pub fn of_object(obj: &Value) -> Self {
        let field = |name: &str| obj.get(name).and_then(Value::as_str).unwrap_or_default();
        Self::of(field("apiVersion"), field("kind"))
    }

    /// A field of an object of this shape.
    pub fn field(self, name: &str) -> Field {
        let Some(definition) = self.definition else { return UNKNOWN };
        if self.map {
            // A map entry: a value of the definition itself.
            let shape = Self { definition: Some(definition), map: false };
            return Field { shape, atomic: atomic_struct(definition), ..UNKNOWN };
        }
        match fields().get(definition).and_then(|fields| fields.get(name)) {
            Some(field) => *field,
            None => UNKNOWN,
        }
    }
}

/// Every property of every definition as a [`Field`], worked out once: the walks ask for a
/// field at every node of every object they read.
fn fields() -> &'static HashMap<&'static str, HashMap<&'static str, Field>> {
    static FIELDS: LazyLock<HashMap<&'static str, HashMap<&'static str, Field>>> = LazyLock::new(|| {
        let definitions = &schema::schemas().definitions;
        definitions
            .iter()
            .map(|(definition, schema)| {
                let properties = schema.get("properties").and_then(Value::as_object);
                let fields = properties
                    .into_iter()
                    .flat_map(|p| p.keys())
                    .filter_map(|name| Some((name.as_str(), property_field(definition, name)?)))
                    .collect();
                (definition.as_str(), fields)
            })
            .collect()
    });
    &FIELDS
}

/// A property of a definition (`None` when it has none of that name).
fn property_field(definition: &'static str, name: &str) -> Option<Field> {
    let property = property(definition, name)?;
    let field = {
        let merge = list_fields::field(definition, name);
        let present = matches!(name, "metadata" | "spec" | "status") || PRESENT.contains(&(definition, name));
        let map_atomic = merge.is_some_and(|m| m.map_type == Some("atomic"));
        match property.get("type").and_then(Value::as_str) {
            Some("array") => {
                let item = property.get("items").and_then(definition_of);
                let list = match merge.and_then(|m| m.list_type) {
                    Some(list_fields::ListType::Set) => ListType::Set,
                    Some(list_fields::ListType::Map) => {
                        ListType::Map(merge.map(|m| m.list_map_keys).unwrap_or_default())
                    }
                    Some(list_fields::ListType::Atomic) | None => ListType::Atomic,
                };
                let merges = merge.and_then(|m| m.patch_strategy).is_some_and(|s| s.split(',').any(|s| s == "merge"));
                let patch = match merge.and_then(|m| m.patch_merge_key) {
                    Some(key) if merges => PatchList::Key(key),
                    None if merges => PatchList::Set,
                    _ => PatchList::Replace,
                };
                let shape = Shape { definition: item, map: false };
                Field { shape, atomic: item.is_some_and(atomic_struct), list, patch, present }
            }
            Some("object") if property.get("additionalProperties").is_some() => {
                let values = property.get("additionalProperties").and_then(definition_of);
                Field {
                    shape: Shape { definition: values, map: values.is_some() },
                    atomic: map_atomic,
                    present,
                    ..UNKNOWN
                }
            }
            _ => {
                let target = definition_of(property);
                let atomic = map_atomic || target.is_some_and(atomic_struct);
                Field { shape: Shape { definition: target, map: false }, atomic, present, ..UNKNOWN }
            }
        }
    };
    Some(field)
}

/// A property's schema in a definition.
fn property(definition: &str, name: &str) -> Option<&'static Value> {
    schema::schemas().definitions.get(definition)?.get("properties")?.get(name)
}

/// The definition a schema refers to, if the table has it.
fn definition_of(schema: &'static Value) -> Option<&'static str> {
    let reference = schema::definition_of(schema)?;
    schema::schemas().definitions.get_key_value(reference).map(|(name, _)| name.as_str())
}

fn atomic_struct(definition: &str) -> bool {
    list_fields::struct_map_type(definition).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(mut shape: Shape, fields: &[&str]) -> Field {
        let (last, parents) = fields.split_last().unwrap();
        for name in parents {
            shape = shape.field(name).shape;
        }
        shape.field(last)
    }

    #[test]
    fn lists_maps_and_atomic_structs_of_a_deployment() {
        let deployment = Shape::of("apps/v1", "Deployment");
        let containers = path(deployment, &["spec", "template", "spec", "containers"]);
        assert_eq!(containers.list, ListType::Map(&["name"]));
        assert_eq!(containers.patch, PatchList::Key("name"));
        assert!(containers.present && !containers.atomic);
        let ports = containers.shape.field("ports");
        assert_eq!(ports.list, ListType::Map(&["containerPort", "protocol"]));
        assert_eq!(ports.patch, PatchList::Key("containerPort"));
        assert!(!containers.shape.field("resources").atomic && containers.shape.field("resources").present);
        assert_eq!(containers.shape.field("args").list, ListType::Atomic);
        assert_eq!(containers.shape.field("args").patch, PatchList::Replace);
        assert!(path(deployment, &["spec", "selector"]).atomic, "a LabelSelector is atomic");
        let labels = path(deployment, &["spec", "template", "metadata", "labels"]);
        assert!(!labels.atomic && !labels.present);
        let finalizers = path(deployment, &["metadata", "finalizers"]);
        assert_eq!((finalizers.list, finalizers.patch), (ListType::Set, PatchList::Set));
        let owners = path(deployment, &["metadata", "ownerReferences"]);
        assert!(owners.atomic, "each owner reference is atomic");
        assert_eq!(owners.list, ListType::Map(&["uid"]));
        let env = containers.shape.field("env").shape;
        assert!(env.field("valueFrom").shape.field("configMapKeyRef").atomic);
        assert!(path(deployment, &["spec", "strategy"]).present);
    }

    #[test]
    fn services_jobs_and_unknown_kinds() {
        let service = Shape::of("v1", "Service");
        assert_eq!(path(service, &["spec", "ports"]).list, ListType::Map(&["port", "protocol"]));
        assert!(path(service, &["spec", "selector"]).atomic, "a service selector is an atomic map");
        let job = Shape::of("batch/v1", "Job");
        let conditions = path(job, &["status", "conditions"]);
        assert_eq!((conditions.list, conditions.patch), (ListType::Atomic, PatchList::Key("type")));
        let unknown = Shape::of("example.com/v1", "Widget");
        assert_eq!(path(unknown, &["spec", "items"]), UNKNOWN);
        let limits = path(Shape::of("v1", "Pod"), &["spec", "containers", "resources", "limits"]);
        assert!(!limits.atomic && limits.shape.field("cpu").list == ListType::Atomic);
        assert_eq!(key_default("protocol"), Some(Value::String("TCP".into())));
    }
}
