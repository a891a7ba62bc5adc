//! Upstream's validation of the core objects that bound resource use (`pkg/apis/core/validation`):
//! ResourceQuotas (resource names quota knows, non-negative and, for counts, whole quantities,
//! scopes and scope selectors that fit the resources; scopes never change) and LimitRanges
//! (known types, resource names that fit the type, min ≤ default request ≤ default ≤ max, a
//! ratio of at least 1), with LimitRange's defaults for containers.

use std::collections::{BTreeMap, BTreeSet};

use apiserver_machinery::field::{FieldError, FieldErrors, FieldValue, Path};
use apiserver_machinery::names;
use serde_json::{Map, Value};

use super::checks::quantity::{self, Quantity};
use super::checks::{self, entries, field, items, text};
use crate::object::Object;

/// Of those, the ones quota tracks (all but `storage`).
const NOT_QUOTA_RESOURCES: &[&str] = &["storage"];
/// Resources counted in whole numbers.
const INTEGER_RESOURCES: &[&str] = &[
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];
const CONTAINER_RESOURCES: &[&str] = &["cpu", "memory", "ephemeral-storage"];
const POD_COMPUTE_RESOURCES: &[&str] =
    &["cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"];
const SCOPES: &[&str] = &[
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];
/// Scopes that only say whether a pod has a property: their selector operator is `Exists`.
const EXISTS_ONLY_SCOPES: &[&str] =
    &["BestEffort", "NotBestEffort", "Terminating", "NotTerminating", "CrossNamespacePodAffinity"];
const CONFLICTING_SCOPES: [[&str; 2]; 2] = [["BestEffort", "NotBestEffort"], ["Terminating", "NotTerminating"]];
const LIMIT_TYPES: &[&str] = &["Pod", "Container", "PersistentVolumeClaim"];

fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_huge_pages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// `IsExtendedResourceName`: outside `kubernetes.io`, and a qualified name as a quota's
/// `requests.<name>`.
fn is_extended(name: &str) -> bool {
    !is_native(name) && !name.starts_with("requests.") && names::qualified_name(&format!("requests.{name}")).is_empty()
}

fn is_integer_resource(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended(name)
}

fn is_standard(name: &str) -> bool {
    quantity::is_standard_resource(name)
}

/// `validateResourceName`: a qualified name, standard unless prefixed.
fn resource_name(errors: &mut FieldErrors, path: &Path, name: &str) {
    let problems = names::qualified_name(name);
    if !problems.is_empty() {
        checks::invalid_each(errors, path, name, problems);
    } else if !name.contains('/') && !is_standard(name) {
        errors.push(FieldError::invalid(path, name, "must be a standard resource type or fully qualified"));
    }
}

/// `ValidateResourceQuotaResourceName`.
fn quota_resource_name(errors: &mut FieldErrors, path: &Path, name: &str) {
    resource_name(errors, path, name);
    if !name.contains('/') && (!is_standard(name) || NOT_QUOTA_RESOURCES.contains(&name)) {
        errors.push(FieldError::invalid(path, name, "must be a standard resource for quota"));
    }
}

/// `validateContainerResourceName`.
fn container_resource_name(errors: &mut FieldErrors, path: &Path, name: &str) {
    resource_name(errors, path, name);
    if !name.contains('/') {
        if !CONTAINER_RESOURCES.contains(&name) && !is_huge_pages(name) {
            errors.push(FieldError::invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !is_native(name) && !is_extended(name) {
        errors.push(FieldError::invalid(path, name, "doesn't follow extended resource name standard"));
    }
}

/// `ValidateResourceQuantityValue`: non-negative, whole for counted resources.
fn quantity_value(errors: &mut FieldErrors, path: &Path, resource: &str, value: &Quantity) {
    quantity::non_negative(errors, path, value);
    if is_integer_resource(resource) && !value.is_integer() {
        errors.push(FieldError::invalid(path, value.text(), "must be an integer"));
    }
}

/// `IsResourceQuotaScopeValidForResource`.
fn scope_fits(scope: &str, resource: &str) -> bool {
    match scope {
        "Terminating" | "NotTerminating" | "NotBestEffort" | "PriorityClass" | "CrossNamespacePodAffinity" => {
            resource == "pods" || POD_COMPUTE_RESOURCES.contains(&resource)
        }
        "BestEffort" => resource == "pods",
        "VolumeAttributesClass" => matches!(resource, "persistentvolumeclaims" | "requests.storage"),
        _ => true,
    }
}

fn spec(obj: &Object) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

/// The standard quota resources of `spec.hard`, sorted.
fn hard_resources(spec: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = entries(spec, "hard").map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.retain(|name| is_standard(name) && !NOT_QUOTA_RESOURCES.contains(name));
    names
}

/// core/v1 ResourceQuota, on create (its status is the status subresource's business).
pub fn validate_quota(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let (spec, path) = (spec(obj), Path::new("spec"));
    for (name, value) in entries(spec, "hard") {
        let at = path.child("hard").key(name);
        quota_resource_name(&mut errors, &at, name);
        if let Some(value) = Quantity::read(value, &at, &mut errors) {
            quantity_value(&mut errors, &at, name, &value);
        }
    }
    let resources = hard_resources(spec);
    let scopes: Vec<&str> = items(spec, "scopes").iter().map(|s| s.as_str().unwrap_or_default()).collect();
    let scopes_shown = || FieldValue::raw(spec.get("scopes").map_or("null".to_string(), Value::to_string));
    let scopes_path = path.child("scopes");
    for scope in &scopes {
        if !SCOPES.contains(scope) {
            errors.push(FieldError::invalid(&scopes_path, scopes_shown(), "unsupported scope"));
        }
        for _ in resources.iter().filter(|r| !scope_fits(scope, r)) {
            errors.push(FieldError::invalid(&scopes_path, scopes_shown(), "unsupported scope applied to resource"));
        }
    }
    for pair in CONFLICTING_SCOPES {
        if pair.iter().all(|s| scopes.contains(s)) {
            errors.push(FieldError::invalid(&scopes_path, scopes_shown(), "conflicting scopes"));
        }
    }
    if let Some(selector) = field(spec, "scopeSelector") {
        scope_selector(
            &mut errors,
            &path.child("scopeSelector").child("matchExpressions"),
            selector,
            &resources,
            scopes_shown(),
        );
    }
    errors
}

/// `validateScopedResourceSelectorRequirement`.
fn scope_selector(
    errors: &mut FieldErrors,
    path: &Path,
    selector: &Value,
    resources: &[&str],
    scopes_shown: FieldValue,
) {
    let mut scopes = BTreeSet::new();
    for requirement in items(selector, "matchExpressions") {
        let scope = text(requirement, "scopeName");
        if !SCOPES.contains(&scope) {
            errors.push(FieldError::invalid(path.child("scopeName"), scope, "unsupported scope"));
        }
        for _ in resources.iter().filter(|r| !scope_fits(scope, r)) {
            errors.push(FieldError::invalid(
                path,
                FieldValue::raw(selector.to_string()),
                "unsupported scope applied to resource",
            ));
        }
        let operator = text(requirement, "operator");
        if EXISTS_ONLY_SCOPES.contains(&scope) && operator != "Exists" {
            errors.push(FieldError::invalid(
                path.child("operator"),
                operator,
                "must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, \
                 ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
            ));
        }
        let values = items(requirement, "values");
        match operator {
            "In" | "NotIn" if values.is_empty() => errors.push(FieldError::required(
                path.child("values"),
                "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errors.push(FieldError::invalid(
                path.child("values"),
                FieldValue::raw(Value::Array(values.to_vec()).to_string()),
                "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.push(FieldError::invalid(path.child("operator"), other, "not a valid selector operator")),
        }
        scopes.insert(scope);
    }
    for pair in CONFLICTING_SCOPES {
        if pair.iter().all(|s| scopes.contains(s)) {
            errors.push(FieldError::invalid(path, scopes_shown.clone(), "conflicting scopes"));
        }
    }
}

/// core/v1 ResourceQuota, on update: the scopes never change.
pub fn validate_quota_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_quota(new);
    let scopes = |obj: &Object| -> BTreeSet<String> {
        items(spec(obj), "scopes").iter().filter_map(|s| s.as_str().map(str::to_string)).collect()
    };
    if scopes(new) != scopes(old) {
        let shown = checks::shown(spec(new).get("scopes"));
        errors.push(FieldError::invalid("spec.scopes", shown, checks::IMMUTABLE));
    }
    errors
}

/// `SetDefaults_LimitRangeItem`: a container limit defaults its default to the max, and its
/// default request to the default, else the min.
pub fn default_limit_range(obj: &mut Object) {
    let Some(limits) = obj.get_mut("spec").and_then(|s| s.get_mut("limits")).and_then(Value::as_array_mut) else {
        return;
    };
    for limit in limits.iter_mut().filter_map(Value::as_object_mut) {
        if limit.get("type").and_then(Value::as_str) != Some("Container") {
            continue;
        }
        let take = |limit: &Map<String, Value>, key: &str| {
            limit.get(key).and_then(Value::as_object).cloned().unwrap_or_default()
        };
        let (max, min) = (take(limit, "max"), take(limit, "min"));
        let mut default = take(limit, "default");
        for (resource, value) in &max {
            default.entry(resource.clone()).or_insert_with(|| value.clone());
        }
        let mut default_request = take(limit, "defaultRequest");
        for (resource, value) in default.iter().chain(&min) {
            default_request.entry(resource.clone()).or_insert_with(|| value.clone());
        }
        // Empty maps stay out, as upstream's omit them when it serialises.
        for (key, map) in [("default", default), ("defaultRequest", default_request)] {
            if !map.is_empty() {
                limit.insert(key.into(), Value::Object(map));
            }
        }
    }
}

/// core/v1 LimitRange (create and update alike).
pub fn validate_limit_range(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let path = Path::new("spec").child("limits");
    let mut types = BTreeSet::new();
    for (i, limit) in items(spec(obj), "limits").iter().enumerate() {
        let at = path.index(i);
        let kind = text(limit, "type");
        limit_type(&mut errors, &at.child("type"), kind);
        if !types.insert(kind) {
            errors.push(FieldError::duplicate(at.child("type"), kind));
        }
        limit_item(&mut errors, &at, kind, limit);
    }
    errors
}

/// LimitRange update rules are the create rules.
pub fn validate_limit_range_update(new: &Object, _old: &Object) -> FieldErrors {
    validate_limit_range(new)
}

/// `validateLimitRangeTypeName`.
fn limit_type(errors: &mut FieldErrors, path: &Path, kind: &str) {
    let problems = names::qualified_name(kind);
    if !problems.is_empty() {
        checks::invalid_each(errors, path, kind, problems);
    } else if !kind.contains('/') && !LIMIT_TYPES.contains(&kind) {
        errors.push(FieldError::invalid(path, kind, "must be a standard limit type or fully qualified"));
    }
}

/// The bounds of one limit and how they relate.
fn limit_item(errors: &mut FieldErrors, path: &Path, kind: &str, limit: &Value) {
    let mut bounds: BTreeMap<&str, BTreeMap<&str, Quantity>> = BTreeMap::new();
    let mut read = |errors: &mut FieldErrors, list: &'static str| {
        for (resource, value) in entries(limit, list) {
            let at = path.child(list).key(resource);
            match kind {
                "Pod" | "Container" => container_resource_name(errors, &at, resource),
                _ => resource_name(errors, &at, resource),
            }
            if let Some(value) = Quantity::read(value, &at, errors) {
                bounds.entry(list).or_default().insert(resource.as_str(), value);
            }
        }
    };
    read(errors, "max");
    read(errors, "min");
    if kind == "Pod" {
        for list in ["default", "defaultRequest"] {
            if checks::has_entries(limit, list) {
                errors.push(FieldError::forbidden(path.child(list), "may not be specified when `type` is 'Pod'"));
            }
        }
    } else {
        read(errors, "default");
        read(errors, "defaultRequest");
    }
    if kind == "PersistentVolumeClaim"
        && !entries(limit, "min").any(|(r, _)| r == "storage")
        && !entries(limit, "max").any(|(r, _)| r == "storage")
    {
        errors.push(FieldError::required(
            path.child("limits"),
            "either minimum or maximum storage value is required, but neither was provided",
        ));
    }
    read(errors, "maxLimitRequestRatio");
    let resources: BTreeSet<&str> = bounds.values().flat_map(|b| b.keys().copied()).collect();
    for resource in resources {
        let get = |list: &str| bounds.get(list).and_then(|b| b.get(resource));
        let (min, max, default, request, ratio) =
            (get("min"), get("max"), get("default"), get("defaultRequest"), get("maxLimitRequestRatio"));
        let at = |list: &str| path.child(list).key(resource);
        let mut check = |list: &str, shown: &Quantity, wrong: bool, why: String| {
            if wrong {
                errors.push(FieldError::invalid(at(list), shown.text(), why));
            }
        };
        if let (Some(min), Some(max)) = (min, max) {
            check("min", min, min > max, format!("min value {} is greater than max value {}", min.text(), max.text()));
        }
        if let (Some(request), Some(min)) = (request, min) {
            let why = format!("min value {} is greater than default request value {}", min.text(), request.text());
            check("defaultRequest", request, min > request, why);
        }
        if let (Some(request), Some(max)) = (request, max) {
            let why = format!("default request value {} is greater than max value {}", request.text(), max.text());
            check("defaultRequest", request, request > max, why);
        }
        if let (Some(request), Some(default)) = (request, default) {
            let why = format!(
                "default request value {} is greater than default limit value {}",
                request.text(),
                default.text()
            );
            check("defaultRequest", request, request > default, why);
        }
        if let (Some(default), Some(min)) = (default, min) {
            let why = format!("min value {} is greater than default value {}", min.text(), default.text());
            check("default", min, min > default, why);
        }
        if let (Some(default), Some(max)) = (default, max) {
            let why = format!("default value {} is greater than max value {}", default.text(), max.text());
            check("default", max, default > max, why);
        }
        if let Some(ratio) = ratio {
            let one = Quantity::parse("1").expect("1 parses");
            check("maxLimitRequestRatio", ratio, *ratio < one, format!("ratio {} is less than 1", ratio.text()));
            if let (Some(min), Some(max)) = (min, max) {
                let limit = max.milli() as f64 / min.milli() as f64;
                let why = format!("ratio {} is greater than max/min = {limit:.6}", ratio.text());
                check("maxLimitRequestRatio", ratio, ratio.milli() as f64 / 1000.0 > limit, why);
            }
        }
        let overcommit = is_native(resource) && !is_huge_pages(resource);
        if let (false, Some(default), Some(request)) = (overcommit, default, request) {
            let why = format!(
                "default value {} must equal to defaultRequest value {} in {resource}",
                default.text(),
                request.text()
            );
            check("defaultRequest", request, default != request, why);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::checks::testing::messages;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    #[test]
    fn realistic_quotas_pass() {
        let quota = object(json!({"spec": {"hard": {"pods": "10", "requests.cpu": "4", "limits.memory": "8Gi",
            "count/deployments.apps": "5", "requests.nvidia.com/gpu": "2", "persistentvolumeclaims": "3",
            "requests.storage": "100Gi"}}}));
        assert_eq!(messages(&validate_quota(&quota)), Vec::<String>::new());
        let scoped = object(json!({"spec": {"hard": {"pods": "5", "cpu": "2"}, "scopes": ["NotTerminating"],
            "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]}}}));
        assert!(validate_quota(&scoped).is_empty());
    }

    #[test]
    fn bad_quotas() {
        let bad = object(json!({"spec": {"hard": {"pods": "1.5", "cpu": "-1", "storage": "1Gi", "widgets": "1"},
            "scopes": ["BestEffort", "NotBestEffort"]}}));
        assert_eq!(
            messages(&validate_quota(&bad)),
            [
                "spec.hard[cpu]: Invalid value: \"-1\": must be greater than or equal to 0",
                "spec.hard[pods]: Invalid value: \"1.5\": must be an integer",
                "spec.hard[storage]: Invalid value: \"storage\": must be a standard resource for quota",
                "spec.hard[widgets]: Invalid value: \"widgets\": must be a standard resource type or fully qualified",
                "spec.hard[widgets]: Invalid value: \"widgets\": must be a standard resource for quota",
                "spec.scopes: Invalid value: [\"BestEffort\",\"NotBestEffort\"]: unsupported scope applied to resource",
                "spec.scopes: Invalid value: [\"BestEffort\",\"NotBestEffort\"]: conflicting scopes",
            ]
        );
        let selector = object(json!({"spec": {"scopeSelector": {"matchExpressions": [
            {"scopeName": "Terminating", "operator": "In", "values": ["x"]},
            {"scopeName": "Sometimes", "operator": "Exists"}]}}}));
        let found = messages(&validate_quota(&selector));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0]
                .starts_with("spec.scopeSelector.matchExpressions.operator: Invalid value: \"In\": must be 'Exists'")
        );
        assert_eq!(
            found[1],
            "spec.scopeSelector.matchExpressions.scopeName: Invalid value: \"Sometimes\": unsupported scope"
        );
    }

    #[test]
    fn quota_scopes_never_change() {
        let old = object(json!({"spec": {"hard": {"pods": "1"}, "scopes": ["BestEffort"]}}));
        let mut more = old.clone();
        more["spec"]["hard"]["pods"] = json!("2");
        assert!(validate_quota_update(&more, &old).is_empty());
        more["spec"]["scopes"] = json!(["NotBestEffort"]);
        assert_eq!(
            messages(&validate_quota_update(&more, &old)),
            ["spec.scopes: Invalid value: [\"NotBestEffort\"]: field is immutable"]
        );
    }

    #[test]
    fn container_limits_get_their_defaults_and_pass() {
        let mut range = object(json!({"spec": {"limits": [
            {"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"cpu": "100m"}, "default": {"cpu": "500m"},
             "maxLimitRequestRatio": {"cpu": "10"}},
            {"type": "Pod", "max": {"cpu": "4"}},
            {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}}]}}));
        default_limit_range(&mut range);
        let container = &range["spec"]["limits"][0];
        assert_eq!(container["default"], json!({"cpu": "500m", "memory": "1Gi"}));
        assert_eq!(container["defaultRequest"], json!({"cpu": "500m", "memory": "1Gi"}));
        assert_eq!(messages(&validate_limit_range(&range)), Vec::<String>::new());
        let mut bare = object(json!({"spec": {"limits": [{"type": "Container"}]}}));
        default_limit_range(&mut bare);
        assert_eq!(bare["spec"]["limits"][0], json!({"type": "Container"}), "no empty maps");
    }

    #[test]
    fn limits_out_of_order() {
        let range = object(json!({"spec": {"limits": [
            {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}, "default": {"cpu": "3"}, "defaultRequest": {"cpu": "3"},
             "maxLimitRequestRatio": {"cpu": "500m"}},
            {"type": "Container"},
            {"type": "Pod", "default": {"cpu": "1"}},
            {"type": "PersistentVolumeClaim", "max": {"cpu": "1"}},
            {"type": "Node"}]}}));
        assert_eq!(
            messages(&validate_limit_range(&range)),
            [
                "spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1",
                "spec.limits[0].defaultRequest[cpu]: Invalid value: \"3\": default request value 3 is greater than max value 1",
                "spec.limits[0].default[cpu]: Invalid value: \"1\": default value 3 is greater than max value 1",
                "spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: \"500m\": ratio 500m is less than 1",
                "spec.limits[1].type: Duplicate value: \"Container\"",
                "spec.limits[2].default: Forbidden: may not be specified when `type` is 'Pod'",
                "spec.limits[3].limits: Required value: either minimum or maximum storage value is required, but neither was provided",
                "spec.limits[4].type: Invalid value: \"Node\": must be a standard limit type or fully qualified",
            ]
        );
    }
}
