//! Probes and lifecycle hooks (upstream's `validateProbe`, `validateLivenessProbe` and
//! friends, `validateLifecycle`, `validateHandler`): exactly one handler, valid ports, and
//! non-negative timings. Upstream defaults a probe's zero thresholds and an `httpGet`'s path
//! and scheme before it validates; this server does not store those defaults, so an absent
//! value is taken as its default here.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use serde_json::Value;

use super::containers::port_number;
use super::{field, int, invalid_each, list, one_of, text};
use crate::resources::checks;

const SCHEMES: &[&str] = &["HTTP", "HTTPS"];

/// A container's `lifecycle` and its three probes (regular and sidecar containers).
pub(super) fn validate_lifecycle_and_probes(
    container: &Value,
    grace_period: Option<i64>,
    path: &Path,
    errors: &mut FieldErrors,
) {
    if let Some(lifecycle) = field(container, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(handler) = field(lifecycle, hook) {
                validate_handler(handler, true, grace_period, &path.child("lifecycle").child(hook), errors);
            }
        }
    }
    for kind in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(probe) = field(container, kind) else { continue };
        let at = path.child(kind);
        validate_handler(probe, false, grace_period, &at, errors);
        for timing in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"]
        {
            checks::non_negative(errors, &at.child(timing), probe.get(timing));
        }
        let grace = int(probe, "terminationGracePeriodSeconds");
        if let Some(seconds) = grace
            && seconds <= 0
        {
            errors.push(FieldError::invalid(
                at.child("terminationGracePeriodSeconds"),
                seconds,
                "must be greater than 0",
            ));
        }
        match kind {
            "readinessProbe" => {
                if let Some(seconds) = grace {
                    errors.push(FieldError::invalid(
                        at.child("terminationGracePeriodSeconds"),
                        seconds,
                        "must not be set for readinessProbes",
                    ));
                }
            }
            // 0 (or absent) is defaulted to 1 upstream.
            _ => match int(probe, "successThreshold").unwrap_or(0) {
                0 | 1 => {}
                n => errors.push(FieldError::invalid(at.child("successThreshold"), n, "must be 1")),
            },
        }
    }
}

/// Upstream's `validateHandler`: exactly one of the handler types a probe (`exec`, `httpGet`,
/// `tcpSocket`, `grpc`) or a hook (`exec`, `httpGet`, `tcpSocket`, `sleep`) may have.
fn validate_handler(handler: &Value, hook: bool, grace_period: Option<i64>, path: &Path, errors: &mut FieldErrors) {
    let kinds: &[&str] =
        if hook { &["exec", "httpGet", "tcpSocket", "sleep"] } else { &["exec", "httpGet", "tcpSocket", "grpc"] };
    let mut found = 0;
    for kind in kinds {
        let Some(action) = field(handler, kind) else { continue };
        let at = path.child(kind);
        if found > 0 {
            errors.push(FieldError::forbidden(at, "may not specify more than 1 handler type"));
            continue;
        }
        found += 1;
        match *kind {
            "exec" if list(action, "command").is_empty() => errors.push(FieldError::required(at.child("command"), "")),
            "httpGet" => validate_http_get(action, &at, errors),
            "tcpSocket" => validate_port(action.get("port"), &at.child("port"), errors),
            "grpc" => port_number(int(action, "port").unwrap_or(0), &at.child("port"), errors),
            "sleep" => validate_sleep(action, grace_period, &at, errors),
            _ => {}
        }
    }
    if found == 0 {
        errors.push(FieldError::required(path, "must specify a handler type"));
    }
}

fn validate_http_get(action: &Value, path: &Path, errors: &mut FieldErrors) {
    if field(action, "path").is_some() && text(action, "path").is_empty() {
        errors.push(FieldError::required(path.child("path"), ""));
    }
    validate_port(action.get("port"), &path.child("port"), errors);
    if let Some(scheme) = field(action, "scheme").and_then(Value::as_str) {
        one_of(errors, &path.child("scheme"), scheme, SCHEMES);
    }
    for header in list(action, "httpHeaders") {
        let name = text(header, "name");
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            errors.push(FieldError::invalid(
                path.child("httpHeaders"),
                name,
                "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex \
                 used for validation is '[-A-Za-z0-9]+')",
            ));
        }
    }
}

/// Upstream's `ValidatePortNumOrName`.
pub(super) fn validate_port(port: Option<&Value>, path: &Path, errors: &mut FieldErrors) {
    match port {
        Some(Value::String(name)) => invalid_each(errors, path, name, checks::port_name_problems(name)),
        Some(number) => port_number(number.as_i64().unwrap_or(0), path, errors),
        None => port_number(0, path, errors),
    }
}

/// A `sleep` hook lasts no longer than the pod's grace period (0 is allowed:
/// `PodLifecycleSleepActionAllowZero` is on by default).
fn validate_sleep(action: &Value, grace_period: Option<i64>, path: &Path, errors: &mut FieldErrors) {
    let seconds = int(action, "seconds").unwrap_or(0);
    if let Some(grace) = grace_period
        && (seconds < 0 || seconds > grace)
    {
        errors.push(FieldError::invalid(
            path,
            seconds,
            format!("must be non-negative and less than terminationGracePeriodSeconds ({grace})"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{assert_errors, nginx_pod_spec};
    use super::super::{Owner, validate_pod_spec};
    use super::*;

    fn with(key: &str, value: Value) -> FieldErrors {
        let mut spec = nginx_pod_spec();
        spec["containers"][0][key] = value;
        validate_pod_spec(&spec, &Path::new("spec"), Owner::Pod)
    }

    #[test]
    fn good_probes_and_hooks() {
        assert_errors(with("livenessProbe", json!({"httpGet": {"port": "http"}})), &[]);
        assert_errors(with("startupProbe", json!({"tcpSocket": {"port": 80}, "failureThreshold": 30})), &[]);
        assert_errors(with("readinessProbe", json!({"grpc": {"port": 9090}, "successThreshold": 2})), &[]);
        assert_errors(with("lifecycle", json!({"preStop": {"sleep": {"seconds": 5}}})), &[]);
    }

    #[test]
    fn exactly_one_handler() {
        assert_errors(
            with("livenessProbe", json!({"periodSeconds": 10})),
            &["spec.containers[0].livenessProbe: Required value: must specify a handler type"],
        );
        assert_errors(
            with("readinessProbe", json!({"exec": {"command": ["true"]}, "httpGet": {"port": 80}})),
            &["spec.containers[0].readinessProbe.httpGet: Forbidden: may not specify more than 1 handler type"],
        );
        assert_errors(
            with("lifecycle", json!({"postStart": {"exec": {}}, "preStop": {"grpc": {"port": 1}}})),
            &[
                "spec.containers[0].lifecycle.postStart.exec.command: Required value",
                "spec.containers[0].lifecycle.preStop: Required value: must specify a handler type",
            ],
        );
    }

    #[test]
    fn ports_timings_and_thresholds() {
        assert_errors(
            with(
                "livenessProbe",
                json!({"httpGet": {"port": 0, "scheme": "FTP"}, "periodSeconds": -1, "successThreshold": 3}),
            ),
            &[
                "spec.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: \"FTP\": supported values: \"HTTP\", \"HTTPS\"",
                "spec.containers[0].livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
                "spec.containers[0].livenessProbe.successThreshold: Invalid value: 3: must be 1",
            ],
        );
        assert_errors(
            with("startupProbe", json!({"tcpSocket": {"port": "http_port"}})),
            &[
                "spec.containers[0].startupProbe.tcpSocket.port: Invalid value: \"http_port\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            ],
        );
        assert_errors(
            with("readinessProbe", json!({"exec": {"command": ["true"]}, "terminationGracePeriodSeconds": 5})),
            &[
                "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes",
            ],
        );
        assert_errors(
            with("lifecycle", json!({"preStop": {"sleep": {"seconds": 31}}})),
            &[
                "spec.containers[0].lifecycle.preStop.sleep: Invalid value: 31: must be non-negative and less than terminationGracePeriodSeconds (30)",
            ],
        );
    }
}
