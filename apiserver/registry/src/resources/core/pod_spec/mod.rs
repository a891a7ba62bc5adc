//! Upstream's validation of a pod spec (`ValidatePodSpec`, `ValidatePodTemplateSpec` in
//! `pkg/apis/core/validation/validation.go`), for Pods and for every pod template: one 422
//! cause per problem, at upstream's field paths and with upstream's messages.
//!
//! The spec is read as JSON after defaulting (the strategies default before they validate), so
//! fields upstream always defaults (`restartPolicy`, `dnsPolicy`, `imagePullPolicy`,
//! `terminationMessagePolicy`, a port's `protocol`) are required here too, while fields whose
//! defaults are not applied by this server (a probe's thresholds, `httpGet.path`, a
//! `fieldRef.apiVersion`) are taken as their default when absent.
//!
//! One file per topic: [`containers`] (and [`probes`], [`env`], [`resources`], [`mounts`] for
//! what a container holds), [`volumes`], [`pod`] (pod-level settings), [`scheduling`]
//! (tolerations, affinity, spread), [`security`] (security contexts), [`templates`] (pod
//! templates and the rules of their owners). Rules shared with other resources (names, label
//! selectors, quantities, IPs, port names) are `resources::checks`'.

mod containers;
mod env;
mod mounts;
mod pod;
mod probes;
mod resources;
mod scheduling;
mod security;
mod templates;
mod volumes;

#[cfg(test)]
mod fixtures;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use serde_json::Value;

// The field-level helpers upstream's validators share with the other resources.
use crate::resources::checks::{field, invalid_each, items as list, one_of, text};

pub use templates::{
    template_for_controller, template_metadata, validate_pod_template, validate_pod_template_update, validate_template,
};

/// What holds the spec: a Pod, or a template of pods to come. A few rules differ (upstream's
/// `opts.ResourceIsPod` and the pod-only container checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// `spec` of a Pod.
    Pod,
    /// `spec` of a pod template (workloads, PodTemplate).
    Template,
}

/// Every problem with the pod spec `spec` found at `path` (upstream's `ValidatePodSpec`).
pub fn validate_pod_spec(spec: &Value, path: &Path, owner: Owner) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if field(spec, "terminationGracePeriodSeconds").is_none() {
        errors.push(FieldError::required(path.child("terminationGracePeriodSeconds"), ""));
    }
    let volumes = volumes::validate(list(spec, "volumes"), &path.child("volumes"), owner, &mut errors);
    let context = containers::Context { spec, volumes: &volumes };
    containers::validate_all(&context, path, &mut errors);
    pod::validate(spec, path, owner, &mut errors);
    if owner == Owner::Pod {
        containers::validate_pod_images(spec, path, &mut errors);
    }
    errors
}

/// An integer field.
fn int(value: &Value, key: &str) -> Option<i64> {
    value.get(key).and_then(Value::as_i64)
}

/// A boolean field, false when absent.
fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Upstream's `InclusiveRangeError`.
fn range_error(low: i64, high: i64) -> String {
    format!("must be between {low} and {high}, inclusive")
}

/// `Required` when `value[key]` is empty, else `NotSupported` unless it is one of `supported`
/// (upstream's switch over an enum field that defaulting always fills).
fn required_enum(errors: &mut FieldErrors, value: &Value, key: &str, path: &Path, supported: &[&str]) {
    match text(value, key) {
        "" => errors.push(FieldError::required(path.child(key), "")),
        set => one_of(errors, &path.child(key), set, supported),
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{assert_errors, full_pod_spec, nginx_pod_spec};
    use super::*;

    #[test]
    fn a_realistic_nginx_pod_and_a_pod_with_every_common_field_are_valid() {
        for owner in [Owner::Pod, Owner::Template] {
            assert_errors(validate_pod_spec(&nginx_pod_spec(), &Path::new("spec"), owner), &[]);
            assert_errors(validate_pod_spec(&full_pod_spec(), &Path::new("spec"), owner), &[]);
        }
    }

    #[test]
    fn defaulted_fields_are_required() {
        let mut spec = nginx_pod_spec();
        spec.as_object_mut().unwrap().remove("terminationGracePeriodSeconds");
        spec["containers"][0].as_object_mut().unwrap().remove("imagePullPolicy");
        assert_errors(
            validate_pod_spec(&spec, &Path::new("spec"), Owner::Pod),
            &[
                "spec.terminationGracePeriodSeconds: Required value",
                "spec.containers[0].imagePullPolicy: Required value",
            ],
        );
    }

    #[test]
    fn paths_follow_the_owner() {
        let mut spec = nginx_pod_spec();
        spec["containers"][0]["ports"][0]["containerPort"] = serde_json::json!(70000);
        let path = Path::new("spec").child("template").child("spec");
        assert_errors(
            validate_pod_spec(&spec, &path, Owner::Template),
            &[
                "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            ],
        );
    }
}
