//! Ingresses (`ValidateIngressCreate` and `...Update`): rules or a default backend, hosts that
//! are DNS names (a `*.` wildcard allowed), paths with a type and, for Exact and Prefix, an
//! absolute clean path, backends that are one service (port name or number) or one resource,
//! TLS hosts and secret names; IngressClasses: a domain-prefixed controller that never changes
//! and a parameters reference with a scope (defaulted to `Cluster`).

use apiserver_machinery::field::{FieldError, FieldErrors, FieldValue, Path};
use apiserver_machinery::names;
use serde_json::{Value, json};

use super::typed_reference;
use crate::object::{Object, meta_string_map};
use crate::resources::checks::net::parse_ip;
use crate::resources::checks::{self, field, items, text};

const PATH_TYPES: &[&str] = &["Exact", "ImplementationSpecific", "Prefix"];
const INVALID_PATH_SEQUENCES: &[&str] = &["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES: &[&str] = &["/..", "/."];
const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
const MAX_CONTROLLER: usize = 250;
const SCOPES: &[&str] = &["Cluster", "Namespace"];

/// Which of upstream's allowances for objects stored before a rule tightened apply.
#[derive(Debug, Clone, Copy, Default)]
struct Allowances {
    invalid_secret_names: bool,
    invalid_wildcard_rules: bool,
}

fn spec(obj: &Object) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

/// networking/v1 Ingress, on create.
pub fn validate_ingress(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    ingress_spec(&mut errors, spec(obj), Allowances::default());
    let annotation = meta_string_map(obj, "annotations").remove(CLASS_ANNOTATION);
    if let (Some(annotation), Some(class)) = (annotation, field(spec(obj), "ingressClassName").and_then(Value::as_str))
        && annotation != class
    {
        errors.push(FieldError::invalid(
            Path::new("annotations").child(CLASS_ANNOTATION),
            annotation,
            "must match `ingressClassName` when both are specified",
        ));
    }
    errors
}

/// networking/v1 Ingress, on update: what was stored under looser rules may stay.
pub fn validate_ingress_update(new: &Object, old: &Object) -> FieldErrors {
    let old_spec = spec(old);
    let allowances = Allowances {
        invalid_secret_names: items(old_spec, "tls")
            .iter()
            .any(|tls| !secret_name_problems(text(tls, "secretName")).is_empty()),
        invalid_wildcard_rules: items(old_spec, "rules").iter().any(|rule| {
            let mut errors = FieldErrors::default();
            rule_value(&mut errors, &Path::default(), rule);
            text(rule, "host").contains('*') && !errors.is_empty()
        }),
    };
    let mut errors = FieldErrors::default();
    ingress_spec(&mut errors, spec(new), allowances);
    errors
}

/// `ValidateIngressSpec`.
fn ingress_spec(errors: &mut FieldErrors, spec: &Value, allowances: Allowances) {
    let path = Path::new("spec");
    let rules = items(spec, "rules");
    let default_backend = field(spec, "defaultBackend");
    if rules.is_empty() && default_backend.is_none() {
        errors.push(FieldError::invalid(
            &path,
            checks::shown(field(spec, "rules")),
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(backend) = default_backend {
        ingress_backend(errors, &path.child("defaultBackend"), backend);
    }
    for (i, rule) in rules.iter().enumerate() {
        let at = path.child("rules").index(i);
        let host = text(rule, "host");
        let mut wildcard = false;
        if !host.is_empty() {
            if parse_ip(host).is_some() {
                errors.push(FieldError::invalid(at.child("host"), host, "must be a DNS name, not an IP address"));
            }
            if host.contains('*') {
                checks::invalid_each(errors, &at.child("host"), host, wildcard_subdomain_problems(host));
                wildcard = true;
            } else {
                checks::dns1123_subdomain(errors, &at.child("host"), host);
            }
        }
        if !wildcard || !allowances.invalid_wildcard_rules {
            rule_value(errors, &at, rule);
        }
    }
    for (i, tls) in items(spec, "tls").iter().enumerate() {
        let at = path.child("tls").index(i);
        for (j, host) in items(tls, "hosts").iter().enumerate() {
            let host = host.as_str().unwrap_or_default();
            let problems =
                if host.contains('*') { wildcard_subdomain_problems(host) } else { names::dns1123_subdomain(host) };
            checks::invalid_each(errors, &at.child("hosts").index(j), host, problems);
        }
        if !allowances.invalid_secret_names {
            let secret = text(tls, "secretName");
            checks::invalid_each(errors, &at.child("secretName"), secret, secret_name_problems(secret));
        }
    }
    if let Some(class) = field(spec, "ingressClassName").and_then(Value::as_str) {
        checks::dns1123_subdomain(errors, &path.child("ingressClassName"), class);
    }
}

fn secret_name_problems(name: &str) -> Vec<String> {
    if name.is_empty() { Vec::new() } else { names::dns1123_subdomain(name) }
}

/// `IsWildcardDNS1123Subdomain`: `*.` and a DNS subdomain.
fn wildcard_subdomain_problems(host: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if host.len() > names::DNS1123_SUBDOMAIN_MAX {
        problems.push(format!("must be no more than {} characters", names::DNS1123_SUBDOMAIN_MAX));
    }
    if host.strip_prefix("*.").is_none_or(|rest| !names::dns1123_subdomain(rest).is_empty()) {
        problems.push(
            "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist \
             of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. \
             '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                .into(),
        );
    }
    problems
}

/// `validateIngressRuleValue`: an HTTP rule's paths.
fn rule_value(errors: &mut FieldErrors, path: &Path, rule: &Value) {
    let Some(http) = field(rule, "http") else { return };
    let at = path.child("http").child("paths");
    let paths = items(http, "paths");
    if paths.is_empty() {
        errors.push(FieldError::required(&at, ""));
    }
    for (i, http_path) in paths.iter().enumerate() {
        ingress_path(errors, &at.index(i), http_path);
    }
}

/// `validateHTTPIngressPath`.
fn ingress_path(errors: &mut FieldErrors, path: &Path, http_path: &Value) {
    let Some(kind) = field(http_path, "pathType") else {
        errors.push(FieldError::required(path.child("pathType"), "pathType must be specified"));
        return;
    };
    let value = text(http_path, "path");
    let at = path.child("path");
    match kind.as_str().unwrap_or_default() {
        "Exact" | "Prefix" => {
            if !value.starts_with('/') {
                errors.push(FieldError::invalid(&at, value, "must be an absolute path"));
            }
            for sequence in INVALID_PATH_SEQUENCES.iter().filter(|s| value.contains(**s)) {
                errors.push(FieldError::invalid(&at, value, format!("must not contain '{sequence}'")));
            }
            for suffix in INVALID_PATH_SUFFIXES.iter().filter(|s| value.ends_with(**s)) {
                errors.push(FieldError::invalid(&at, value, format!("cannot end with '{suffix}'")));
            }
        }
        "ImplementationSpecific" => {
            if !value.is_empty() && !value.starts_with('/') {
                errors.push(FieldError::invalid(&at, value, "must be an absolute path"));
            }
        }
        other => errors.push(FieldError::not_supported(path.child("pathType"), other, PATH_TYPES)),
    }
    ingress_backend(errors, &path.child("backend"), http_path.get("backend").unwrap_or(&Value::Null));
}

/// `validateIngressBackend`: one service (name and a port name or number) or one resource.
fn ingress_backend(errors: &mut FieldErrors, path: &Path, backend: &Value) {
    match (field(backend, "resource"), field(backend, "service")) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::invalid(path, "", "cannot set both resource and service backends"))
        }
        (Some(resource), None) => typed_reference(errors, &path.child("resource"), resource),
        (None, Some(service)) => {
            let service_path = path.child("service");
            match text(service, "name") {
                "" => errors.push(FieldError::required(service_path.child("name"), "")),
                // Upstream's relaxed Service name rule (a DNS label), which accepts every name
                // the strict one does.
                name => checks::dns1123_label(errors, &service_path.child("name"), name),
            }
            let port = service.get("port").unwrap_or(&Value::Null);
            let port_path = service_path.child("port");
            let name = text(port, "name");
            let number = port.get("number").and_then(Value::as_i64).unwrap_or(0);
            match (name.is_empty(), number == 0) {
                (false, false) => errors.push(FieldError::invalid(path, "", "cannot set both port name & port number")),
                (false, true) => {
                    checks::invalid_each(errors, &port_path.child("name"), name, checks::port_name_problems(name))
                }
                (true, false) => {
                    for problem in checks::port_number_problems(number) {
                        errors.push(FieldError::invalid(port_path.child("number"), number, problem));
                    }
                }
                (true, true) => errors.push(FieldError::required(path, "port name or number is required")),
            }
        }
        (None, None) => errors.push(FieldError::invalid(path, "", "resource or service backend is required")),
    }
}

/// `SetDefaults_IngressClass`: parameters are cluster-scoped unless said otherwise.
pub fn default_ingress_class(obj: &mut Object) {
    if let Some(parameters) = obj.get_mut("spec").and_then(|s| s.get_mut("parameters")).and_then(Value::as_object_mut)
        && parameters.get("scope").is_none_or(Value::is_null)
    {
        parameters.insert("scope".into(), json!("Cluster"));
    }
}

/// networking/v1 IngressClass, on create.
pub fn validate_ingress_class(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let (spec, path) = (spec(obj), Path::new("spec"));
    let controller = text(spec, "controller");
    let controller_path = path.child("controller");
    if controller.is_empty() {
        errors.push(FieldError::required(&controller_path, ""));
    } else {
        if controller.len() > MAX_CONTROLLER {
            errors.push(FieldError::too_long(&controller_path, MAX_CONTROLLER));
        }
        domain_prefixed_path(&mut errors, &controller_path, controller);
    }
    if let Some(parameters) = field(spec, "parameters") {
        class_parameters(&mut errors, &path.child("parameters"), parameters);
    }
    errors
}

/// networking/v1 IngressClass, on update: the controller never changes.
pub fn validate_ingress_class_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let controller = |obj: &Object| spec(obj).get("controller").cloned();
    checks::immutable(
        &mut errors,
        &Path::new("spec").child("controller"),
        controller(new).as_ref(),
        controller(old).as_ref(),
    );
    errors.extend(validate_ingress_class(new));
    errors
}

/// `IsDomainPrefixedPath`: `<DNS subdomain>/<HTTP path>`.
fn domain_prefixed_path(errors: &mut FieldErrors, path: &Path, value: &str) {
    let Some((host, rest)) = value.split_once('/').filter(|(host, rest)| !host.is_empty() && !rest.is_empty()) else {
        errors.push(FieldError::invalid(path, value, "must be a domain-prefixed path (such as \"acme.io/foo\")"));
        return;
    };
    checks::dns1123_subdomain(errors, path, host);
    let http_path = |c: char| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:".contains(c);
    if !rest.chars().all(http_path) {
        errors.push(FieldError::invalid(
            path,
            rest,
            "Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')",
        ));
    }
}

/// `validateIngressClassParametersReference`.
fn class_parameters(errors: &mut FieldErrors, path: &Path, parameters: &Value) {
    typed_reference(errors, path, parameters);
    let Some(scope) = field(parameters, "scope") else {
        errors.push(FieldError::required(path.child("scope"), ""));
        return;
    };
    let scope = scope.as_str().unwrap_or_default();
    let namespace = field(parameters, "namespace");
    match scope {
        "Namespace" => match namespace {
            None => {
                errors.push(FieldError::required(path.child("namespace"), "`parameters.scope` is set to 'Namespace'"))
            }
            Some(namespace) => {
                checks::dns1123_label(errors, &path.child("namespace"), namespace.as_str().unwrap_or_default())
            }
        },
        "Cluster" if namespace.is_some() => {
            errors.push(FieldError::forbidden(path.child("namespace"), "`parameters.scope` is set to 'Cluster'"))
        }
        "Cluster" => {}
        other => errors.push(FieldError::not_supported(path.child("scope"), FieldValue::from(other), SCOPES)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::checks::testing::messages;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    fn backend(service: &str, port: Value) -> Value {
        json!({"service": {"name": service, "port": port}})
    }

    #[test]
    fn realistic_ingresses_pass() {
        let ingress = object(json!({"metadata": {"annotations": {CLASS_ANNOTATION: "nginx"}}, "spec": {
            "ingressClassName": "nginx",
            "defaultBackend": backend("fallback", json!({"number": 80})),
            "rules": [{"host": "*.example.com", "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": backend("web", json!({"name": "http"}))},
                {"path": "/api/v1", "pathType": "Exact", "backend": backend("api", json!({"number": 8080}))},
                {"pathType": "ImplementationSpecific",
                 "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "StorageBucket", "name": "assets"}}}]}}],
            "tls": [{"hosts": ["*.example.com", "example.com"], "secretName": "example-tls"}]}}));
        assert_eq!(messages(&validate_ingress(&ingress)), Vec::<String>::new());
    }

    #[test]
    fn bad_ingresses() {
        assert_eq!(
            messages(&validate_ingress(&object(json!({"spec": {}})))),
            ["spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"]
        );
        let bad = object(json!({"metadata": {"annotations": {CLASS_ANNOTATION: "traefik"}}, "spec": {
            "ingressClassName": "nginx",
            "rules": [{"host": "10.0.0.1", "http": {"paths": [
                {"path": "api", "pathType": "Prefix", "backend": backend("web", json!({"name": "http", "number": 80}))},
                {"path": "/a//b/.", "pathType": "Exact", "backend": {}},
                {"path": "/", "backend": backend("web", json!({"number": 80}))},
                {"path": "/", "pathType": "Regex", "backend": backend("web", json!({}))}]}},
                {"host": "foo.*.com", "http": {"paths": []}}]}}));
        assert_eq!(
            messages(&validate_ingress(&bad)),
            [
                "spec.rules[0].host: Invalid value: \"10.0.0.1\": must be a DNS name, not an IP address",
                "spec.rules[0].http.paths[0].path: Invalid value: \"api\": must be an absolute path",
                "spec.rules[0].http.paths[0].backend: Invalid value: \"\": cannot set both port name & port number",
                "spec.rules[0].http.paths[1].path: Invalid value: \"/a//b/.\": must not contain '//'",
                "spec.rules[0].http.paths[1].path: Invalid value: \"/a//b/.\": cannot end with '/.'",
                "spec.rules[0].http.paths[1].backend: Invalid value: \"\": resource or service backend is required",
                "spec.rules[0].http.paths[2].pathType: Required value: pathType must be specified",
                "spec.rules[0].http.paths[3].pathType: Unsupported value: \"Regex\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"",
                "spec.rules[0].http.paths[3].backend: Required value: port name or number is required",
                "spec.rules[1].host: Invalid value: \"foo.*.com\": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.rules[1].http.paths: Required value",
                "annotations.kubernetes.io/ingress.class: Invalid value: \"traefik\": must match `ingressClassName` when both are specified",
            ]
        );
    }

    #[test]
    fn updates_keep_what_was_allowed_before() {
        let old = object(json!({"spec": {"defaultBackend": backend("web", json!({"number": 80})),
            "tls": [{"secretName": "Legacy_Secret"}]}}));
        assert_eq!(validate_ingress(&old).len(), 1);
        assert!(validate_ingress_update(&old, &old).is_empty());
    }

    #[test]
    fn ingress_classes() {
        let mut class = object(json!({"spec": {"controller": "example.com/ingress-controller",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}}));
        default_ingress_class(&mut class);
        assert_eq!(class["spec"]["parameters"]["scope"], "Cluster");
        assert!(validate_ingress_class(&class).is_empty());
        let bad = object(json!({"spec": {"controller": "nginx",
            "parameters": {"kind": "a/b", "name": "", "scope": "Namespace"}}}));
        assert_eq!(
            messages(&validate_ingress_class(&bad)),
            [
                "spec.controller: Invalid value: \"nginx\": must be a domain-prefixed path (such as \"acme.io/foo\")",
                "spec.parameters.kind: Invalid value: \"a/b\": may not contain '/'",
                "spec.parameters.name: Required value",
                "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'",
            ]
        );
        let mut other = class.clone();
        other["spec"]["controller"] = json!("example.com/other");
        assert_eq!(
            messages(&validate_ingress_class_update(&other, &class)),
            ["spec.controller: Invalid value: \"example.com/other\": field is immutable"]
        );
    }
}
