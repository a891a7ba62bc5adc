//! The strategy of resources whose rules are only the common ones: the body has its type's
//! shape (status, when the resource has a status subresource, is the registry's business), and
//! workloads bump `metadata.generation` on spec changes. Resource-specific validation and
//! defaulting (upstream's per-type `Validate*`) replace it resource by resource.

use std::marker::PhantomData;

use apiserver_machinery::field::FieldErrors;
use apiserver_machinery::names;
use apiserver_machinery::resources::{self, ResourceInfo};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::fields::SelectableField;
use crate::object::Object;
use crate::strategy::{Strategy, check_shape};
use k8s_openapi::schemars::{JsonSchema, Schema, SchemaGenerator};

/// Which rule object names follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain (most objects).
    Subdomain,
    /// A path segment: anything but `/`, `%`, `.` and `..` (RBAC objects, `system:...` names).
    PathSegment,
}

/// Validation of a create, and of an update (the old object second).
type Rules = (fn(&Object) -> FieldErrors, fn(&Object, &Object) -> FieldErrors);

/// A shape-checked resource of k8s-openapi type `T`.
pub struct Plain<T> {
    resource: &'static ResourceInfo,
    name_rule: NameRule,
    tracks_generation: bool,
    selectable_fields: &'static [SelectableField],
    defaults: Option<fn(&mut Object)>,
    rules: Option<Rules>,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Plain<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plain").field("resource", &self.resource.plural).finish_non_exhaustive()
    }
}

impl<T: k8s_openapi::Resource> Plain<T> {
    /// The strategy of `T`'s resource (it must be in the resource table).
    pub fn new(name_rule: NameRule, tracks_generation: bool) -> Self {
        let resource = resources::find(T::GROUP, T::VERSION, T::URL_PATH_SEGMENT)
            .unwrap_or_else(|| panic!("{}/{} is not in the resource table", T::API_VERSION, T::URL_PATH_SEGMENT));
        Self {
            resource,
            name_rule,
            tracks_generation,
            selectable_fields: &[],
            defaults: None,
            rules: None,
            _type: PhantomData,
        }
    }

    /// Field-selector fields beyond `metadata.name` and `metadata.namespace` (default: none).
    pub fn selecting(mut self, fields: &'static [SelectableField]) -> Self {
        self.selectable_fields = fields;
        self
    }

    /// Upstream's defaulting for the type, applied to every create and update (upstream
    /// defaults every object it decodes).
    pub fn defaulting(mut self, defaults: fn(&mut Object)) -> Self {
        self.defaults = Some(defaults);
        self
    }

    /// Upstream's validation for the type: of a create, and of an update (old object second).
    pub fn validating(
        mut self,
        validate: fn(&Object) -> FieldErrors,
        validate_update: fn(&Object, &Object) -> FieldErrors,
    ) -> Self {
        self.rules = Some((validate, validate_update));
        self
    }
}

/// Problems with a path-segment name.
pub(crate) fn path_segment_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name == "." || name == ".." {
        problems.push(format!("may not be '{name}'"));
    }
    for forbidden in ["/", "%"] {
        if name.contains(forbidden) {
            problems.push(format!("may not contain '{forbidden}'"));
        }
    }
    problems
}

impl<T: DeserializeOwned + serde::Serialize + JsonSchema + Send + Sync + 'static> Strategy for Plain<T> {
    fn resource(&self) -> &'static ResourceInfo {
        self.resource
    }

    fn check_shape(&self, obj: &Value, unknown: Option<&mut Vec<String>>) -> Result<(), String> {
        check_shape::<T>(obj, unknown)
    }

    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>()
    }

    fn validate_name(&self, name: &str) -> Vec<String> {
        match self.name_rule {
            NameRule::Subdomain => names::dns1123_subdomain(name),
            NameRule::PathSegment => path_segment_problems(name),
        }
    }

    fn tracks_generation(&self) -> bool {
        self.tracks_generation
    }

    fn selectable_fields(&self) -> &'static [SelectableField] {
        self.selectable_fields
    }

    fn prepare_for_create(&self, obj: &mut Object) {
        if let Some(defaults) = self.defaults {
            defaults(obj);
        }
    }

    fn prepare_for_update(&self, new: &mut Object, _old: &Object) {
        if let Some(defaults) = self.defaults {
            defaults(new);
        }
    }

    fn validate(&self, obj: &Object) -> FieldErrors {
        self.rules.map(|(validate, _)| validate(obj)).unwrap_or_default()
    }

    fn validate_update(&self, new: &Object, old: &Object) -> FieldErrors {
        self.rules.map(|(_, validate_update)| validate_update(new, old)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segment_names() {
        assert!(path_segment_problems("system:controller:deployment-controller").is_empty());
        for bad in [".", "..", "a/b", "a%b"] {
            assert!(!path_segment_problems(bad).is_empty(), "{bad}");
        }
    }
}
