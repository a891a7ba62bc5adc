//! Compute resources (upstream's `ValidateContainerResourceRequirements`,
//! `validateContainerResourceName`, `ValidateResourceQuantityValue`): known or fully qualified
//! resource names, non-negative quantities, requests within limits, whole numbers and equal
//! requests and limits for extended resources, and claims that name the pod's.

use std::cmp::Ordering;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::{Map, Value};

use super::{field, invalid_each, list, text};
use crate::resources::checks::quantity::{self, Quantity};

/// A container's `resources` (and, with only limits, a pod's `overhead`).
pub(super) fn validate_container(requirements: &Value, claim_names: &[&str], path: &Path, errors: &mut FieldErrors) {
    let empty = Map::new();
    let limits = field(requirements, "limits").and_then(Value::as_object).unwrap_or(&empty);
    let requests = field(requirements, "requests").and_then(Value::as_object).unwrap_or(&empty);
    validate_lists(limits, requests, path, errors);
    validate_claims(list(requirements, "claims"), claim_names, &path.child("claims"), errors);
}

/// A pod's `overhead`: limits only, as upstream checks it.
pub(super) fn validate_overhead(overhead: &Value, path: &Path, errors: &mut FieldErrors) {
    let empty = Map::new();
    validate_lists(overhead.as_object().unwrap_or(&empty), &empty, path, errors);
}

fn validate_lists(limits: &Map<String, Value>, requests: &Map<String, Value>, path: &Path, errors: &mut FieldErrors) {
    let (limits_path, requests_path) = (path.child("limits"), path.child("requests"));
    let mut has_compute = false;
    let mut has_huge_pages = false;
    let mut parsed_limits = Vec::new();
    for (name, value) in limits {
        let at = limits_path.key(name);
        validate_name(name, &at, errors);
        if let Some(q) = validate_quantity(name, value, &at, errors) {
            parsed_limits.push((name.as_str(), q));
        }
        has_compute |= matches!(name.as_str(), "cpu" | "memory");
        has_huge_pages |= name.starts_with("hugepages-");
    }
    for (name, value) in requests {
        let at = requests_path.key(name);
        validate_name(name, &at, errors);
        let request = validate_quantity(name, value, &at, errors);
        match (request, parsed_limits.iter().find(|(n, _)| *n == name.as_str())) {
            (Some(request), Some((_, limit))) => {
                let order = request.cmp(limit);
                if order != Ordering::Equal && !overcommit_allowed(name) {
                    let why = format!("must be equal to {name} limit of {}", limit.text());
                    errors.push(FieldError::invalid(&requests_path, request.text(), why));
                } else if order == Ordering::Greater {
                    let why = format!("must be less than or equal to {name} limit of {}", limit.text());
                    errors.push(FieldError::invalid(&requests_path, request.text(), why));
                }
            }
            (_, None) if !overcommit_allowed(name) => {
                errors.push(FieldError::required(&limits_path, "Limit must be set for non overcommitable resources"))
            }
            _ => {}
        }
        has_compute |= matches!(name.as_str(), "cpu" | "memory");
        has_huge_pages |= name.starts_with("hugepages-");
    }
    if has_huge_pages && !has_compute {
        errors.push(FieldError::forbidden(path, "HugePages require cpu or memory"));
    }
}

/// Upstream's `ValidateResourceQuantityValue`: not negative, and whole for extended resources.
fn validate_quantity(name: &str, value: &Value, path: &Path, errors: &mut FieldErrors) -> Option<Quantity> {
    let q = Quantity::read(value, path, errors)?;
    quantity::non_negative(errors, path, &q);
    if is_extended(name) && !q.is_integer() {
        errors.push(FieldError::invalid(path, q.text(), "must be an integer"));
    }
    Some(q)
}

/// Upstream's `validateContainerResourceName`.
fn validate_name(name: &str, path: &Path, errors: &mut FieldErrors) {
    let problems = names::qualified_name(name);
    if !problems.is_empty() {
        invalid_each(errors, path, name, problems);
        return;
    }
    if !name.contains('/') {
        if !quantity::is_standard_resource(name) {
            errors.push(FieldError::invalid(path, name, "must be a standard resource type or fully qualified"));
        }
        if !matches!(name, "cpu" | "memory" | "ephemeral-storage") && !name.starts_with("hugepages-") {
            errors.push(FieldError::invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !is_native(name) && !is_extended(name) {
        errors.push(FieldError::invalid(path, name, "doesn't follow extended resource name standard"));
    }
}

/// In the `kubernetes.io/` namespace (unqualified names are).
fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// A vendor's resource (`example.com/gpu`).
fn is_extended(name: &str) -> bool {
    !is_native(name) && !name.starts_with("requests.") && names::qualified_name(&format!("requests.{name}")).is_empty()
}

/// Extended resources and hugepages cannot be overcommitted: their requests equal their limits.
fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !name.starts_with("hugepages-")
}

/// Upstream's `validateResourceClaimNames`.
fn validate_claims(claims: &[Value], claim_names: &[&str], path: &Path, errors: &mut FieldErrors) {
    let mut seen = Vec::new();
    for (i, claim) in claims.iter().enumerate() {
        let name = text(claim, "name");
        if name.is_empty() {
            errors.push(FieldError::required(path.index(i), ""));
            continue;
        }
        let key = match text(claim, "request") {
            "" => name.to_string(),
            request => format!("{name}/{request}"),
        };
        if seen.contains(&key) {
            errors.push(FieldError::duplicate(path.index(i), key.as_str()));
        }
        seen.push(key);
        if !claim_names.contains(&name) {
            let mut error = FieldError::not_found(path.index(i), name);
            error.detail = match claim_names {
                [] => "must be one of the names in pod.spec.resourceClaims which is empty".to_string(),
                some => format!("must be one of the names in pod.spec.resourceClaims: {}", some.join(", ")),
            };
            errors.push(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{assert_errors, nginx_pod_spec};
    use super::super::{Owner, validate_pod_spec};
    use super::*;

    fn with_resources(resources: Value) -> FieldErrors {
        let mut spec = nginx_pod_spec();
        spec["containers"][0]["resources"] = resources;
        validate_pod_spec(&spec, &Path::new("spec"), Owner::Pod)
    }

    #[test]
    fn good_requirements() {
        assert_errors(
            with_resources(json!({"requests": {"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "1Gi"},
                                  "limits": {"cpu": "1", "memory": "128Mi", "example.com/gpu": "2"}})),
            &[],
        );
        assert_errors(
            with_resources(json!({"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "1"}})),
            &[],
        );
    }

    #[test]
    fn names_quantities_and_limits() {
        assert_errors(
            with_resources(json!({"requests": {"cpu": "2", "memory": "-1Mi", "gpu": "1"},
                                  "limits": {"cpu": "500m", "memory": "lots"}})),
            &[
                "spec.containers[0].resources.limits[memory]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 500m",
                "spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified",
                "spec.containers[0].resources.requests[gpu]: Invalid value: \"gpu\": must be a standard resource for containers",
                "spec.containers[0].resources.requests[memory]: Invalid value: \"-1Mi\": must be greater than or equal to 0",
            ],
        );
    }

    #[test]
    fn extended_resources_are_whole_and_not_overcommitted() {
        assert_errors(
            with_resources(json!({"requests": {"example.com/gpu": "1"}, "limits": {"example.com/gpu": "1500m"}})),
            &[
                "spec.containers[0].resources.limits[example.com/gpu]: Invalid value: \"1500m\": must be an integer",
                "spec.containers[0].resources.requests: Invalid value: \"1\": must be equal to example.com/gpu limit of 1500m",
            ],
        );
        assert_errors(
            with_resources(json!({"requests": {"example.com/fpga": "1"}})),
            &[
                "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
            ],
        );
        assert_errors(
            with_resources(json!({"limits": {"hugepages-2Mi": "4Mi"}})),
            &["spec.containers[0].resources: Forbidden: HugePages require cpu or memory"],
        );
    }

    #[test]
    fn claims_name_the_pod_claims() {
        assert_errors(
            with_resources(json!({"claims": [{"name": "gpu"}, {"name": ""}]})),
            &[
                "spec.containers[0].resources.claims[0]: Not found: \"gpu\": must be one of the names in pod.spec.resourceClaims which is empty",
                "spec.containers[0].resources.claims[1]: Required value",
            ],
        );
    }
}
