//! The pod-level fields of a spec, in upstream's order after the containers: host network
//! ports, restart and DNS policies, node selector, security context, affinity, DNS config,
//! readiness and scheduling gates, spread constraints, names, deadlines, tolerations, host
//! aliases, priority, runtime class, overhead and OS.

use std::collections::HashSet;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::Value;

use super::{Owner, field, flag, int, invalid_each, list, one_of, range_error, required_enum, text};
use super::{resources, scheduling, security};
use crate::resources::checks;

const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];
const DNS_POLICIES: &[&str] = &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const MAX_NAMESERVERS: usize = 3;
const MAX_SEARCHES: usize = 32;
const MAX_SEARCH_CHARS: usize = 2048;
const SEARCH_FORMAT: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', \
     '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for \
     validation is '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')";

/// Every pod-level rule of `spec` at `path`.
pub(super) fn validate(spec: &Value, path: &Path, owner: Owner, errors: &mut FieldErrors) {
    validate_host_network_ports(spec, path, owner, errors);
    required_enum(errors, spec, "restartPolicy", path, RESTART_POLICIES);
    required_enum(errors, spec, "dnsPolicy", path, DNS_POLICIES);
    checks::selectors::labels(errors, &path.child("nodeSelector"), field(spec, "nodeSelector"));
    security::validate_pod(spec, path, errors);
    if let Some(affinity) = field(spec, "affinity") {
        scheduling::validate_affinity(affinity, &path.child("affinity"), errors);
    }
    validate_dns_config(spec, &path.child("dnsConfig"), errors);
    for (i, gate) in list(spec, "readinessGates").iter().enumerate() {
        let condition = text(gate, "conditionType");
        let at = path.child("readinessGates").index(i).child("conditionType");
        invalid_each(errors, &at, condition, names::qualified_name(condition));
    }
    validate_scheduling_gates(list(spec, "schedulingGates"), &path.child("schedulingGates"), errors);
    scheduling::validate_topology_spread(
        list(spec, "topologySpreadConstraints"),
        &path.child("topologySpreadConstraints"),
        errors,
    );
    security::validate_host_users(spec, path, errors);
    for key in ["serviceAccountName", "nodeName"] {
        let name = text(spec, key);
        if !name.is_empty() {
            invalid_each(errors, &path.child(key), name, names::dns1123_subdomain(name));
        }
    }
    if let Some(deadline) = int(spec, "activeDeadlineSeconds")
        && !(1..=i64::from(i32::MAX)).contains(&deadline)
    {
        errors.push(FieldError::invalid(
            path.child("activeDeadlineSeconds"),
            deadline,
            range_error(1, i64::from(i32::MAX)),
        ));
    }
    for key in ["hostname", "subdomain"] {
        let name = text(spec, key);
        if !name.is_empty() {
            invalid_each(errors, &path.child(key), name, names::dns1123_label(name));
        }
    }
    scheduling::validate_tolerations(list(spec, "tolerations"), &path.child("tolerations"), errors);
    validate_host_aliases(list(spec, "hostAliases"), &path.child("hostAliases"), errors);
    let priority_class = text(spec, "priorityClassName");
    if !priority_class.is_empty() {
        invalid_each(
            errors,
            &path.child("priorityClassName"),
            priority_class,
            names::dns1123_subdomain(priority_class),
        );
    }
    if let Some(runtime_class) = field(spec, "runtimeClassName").and_then(Value::as_str) {
        invalid_each(errors, &path.child("runtimeClassName"), runtime_class, names::dns1123_subdomain(runtime_class));
    }
    if field(spec, "preemptionPolicy").is_some() {
        required_enum(errors, spec, "preemptionPolicy", path, &["PreemptLowerPriority", "Never"]);
    }
    if let Some(overhead) = field(spec, "overhead") {
        resources::validate_overhead(overhead, &path.child("overhead"), errors);
    }
    if let Some(os) = field(spec, "os") {
        match text(os, "name") {
            "" => errors.push(FieldError::required(path.child("os").child("name"), "cannot be empty")),
            name => one_of(errors, &path.child("os"), name, &["linux", "windows"]),
        }
    }
}

/// Upstream's `validatePodHostNetworkDeps`: with the host's network a container port is a host
/// port. A Pod's host ports are defaulted to its container ports; a template may leave them 0.
fn validate_host_network_ports(spec: &Value, path: &Path, owner: Owner, errors: &mut FieldErrors) {
    if !flag(spec, "hostNetwork") {
        return;
    }
    for (i, container) in list(spec, "containers").iter().enumerate() {
        for (j, port) in list(container, "ports").iter().enumerate() {
            let host_port = int(port, "hostPort").unwrap_or(0);
            let container_port = int(port, "containerPort").unwrap_or(0);
            if (owner == Owner::Pod || host_port != 0) && host_port != container_port {
                errors.push(FieldError::invalid(
                    path.child("containers").index(i).child("ports").index(j).child("hostPort"),
                    host_port,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
}

/// Upstream's `validatePodDNSConfig` (relaxed search names: `RelaxedDNSSearchValidation` is GA).
fn validate_dns_config(spec: &Value, path: &Path, errors: &mut FieldErrors) {
    let config = field(spec, "dnsConfig");
    if text(spec, "dnsPolicy") == "None" {
        match config {
            None => {
                errors.push(FieldError::required(path, "must provide `dnsConfig` when `dnsPolicy` is None"));
                return;
            }
            Some(config) if list(config, "nameservers").is_empty() => {
                errors.push(FieldError::required(
                    path.child("nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                ));
                return;
            }
            Some(_) => {}
        }
    }
    let Some(config) = config else { return };
    let nameservers = list(config, "nameservers");
    if nameservers.len() > MAX_NAMESERVERS {
        errors.push(FieldError::invalid(
            path.child("nameservers"),
            Value::from(nameservers.to_vec()).to_string(),
            format!("must not have more than {MAX_NAMESERVERS} nameservers"),
        ));
    }
    for (i, server) in nameservers.iter().enumerate() {
        checks::net::ip(errors, &path.child("nameservers").index(i), server.as_str().unwrap_or_default());
    }
    let searches: Vec<&str> = list(config, "searches").iter().map(|s| s.as_str().unwrap_or_default()).collect();
    if searches.len() > MAX_SEARCHES {
        errors.push(FieldError::invalid(
            path.child("searches"),
            searches.join(" "),
            format!("must not have more than {MAX_SEARCHES} search paths"),
        ));
    }
    if searches.join(" ").len() > MAX_SEARCH_CHARS {
        errors.push(FieldError::invalid(
            path.child("searches"),
            searches.join(" "),
            format!("must not have more than {MAX_SEARCH_CHARS} characters (including spaces) in the search list"),
        ));
    }
    for (i, search) in searches.iter().enumerate() {
        if *search == "." {
            continue;
        }
        let search = search.strip_suffix('.').unwrap_or(search);
        let at = path.child("searches").index(i);
        if search.len() > names::DNS1123_SUBDOMAIN_MAX {
            errors.push(FieldError::invalid(
                &at,
                search,
                format!("must be no more than {} characters", names::DNS1123_SUBDOMAIN_MAX),
            ));
        }
        if !search.split('.').all(is_search_label) {
            errors.push(FieldError::invalid(&at, search, SEARCH_FORMAT));
        }
    }
    for (i, option) in list(config, "options").iter().enumerate() {
        if text(option, "name").is_empty() {
            errors.push(FieldError::required(path.child("options").index(i), "must not be empty"));
        }
    }
}

/// `_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?`
fn is_search_label(label: &str) -> bool {
    let label = label.strip_prefix('_').unwrap_or(label);
    let bytes = label.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|c| alnum(c) || matches!(c, b'-' | b'_'))
        }
        _ => false,
    }
}

/// Upstream's `validateSchedulingGates`: qualified names, each once.
fn validate_scheduling_gates(gates: &[Value], path: &Path, errors: &mut FieldErrors) {
    let mut seen = HashSet::new();
    for (i, gate) in gates.iter().enumerate() {
        let name = text(gate, "name");
        invalid_each(errors, &path.index(i), name, names::qualified_name(name));
        if !seen.insert(name) {
            errors.push(FieldError::duplicate(path.index(i), name));
        }
    }
}

/// Upstream's `ValidateHostAliases`.
fn validate_host_aliases(aliases: &[Value], path: &Path, errors: &mut FieldErrors) {
    for (i, alias) in aliases.iter().enumerate() {
        let at = path.index(i);
        checks::net::ip(errors, &at.child("ip"), text(alias, "ip"));
        for (j, hostname) in list(alias, "hostnames").iter().enumerate() {
            let hostname = hostname.as_str().unwrap_or_default();
            invalid_each(errors, &at.child("hostnames").index(j), hostname, names::dns1123_subdomain(hostname));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{assert_errors, nginx_pod_spec};
    use super::super::validate_pod_spec;
    use super::*;

    fn errors_of(spec: &Value, owner: Owner) -> FieldErrors {
        validate_pod_spec(spec, &Path::new("spec"), owner)
    }

    #[test]
    fn policies_and_names() {
        let mut spec = nginx_pod_spec();
        spec["restartPolicy"] = json!("Sometimes");
        spec["dnsPolicy"] = json!("ClusterLast");
        spec["nodeSelector"] = json!({"disktype": "ssd", "bad key": "x"});
        spec["serviceAccountName"] = json!("Builder");
        spec["hostname"] = json!("web.1");
        spec["activeDeadlineSeconds"] = json!(0);
        spec["priorityClassName"] = json!("high-priority");
        assert_errors(
            errors_of(&spec, Owner::Pod),
            &[
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.dnsPolicy: Unsupported value: \"ClusterLast\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
                "spec.nodeSelector: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "spec.serviceAccountName: Invalid value: \"Builder\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
                "spec.hostname: Invalid value: \"web.1\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            ],
        );
    }

    #[test]
    fn host_network_ports_match_for_pods_and_may_be_unset_in_templates() {
        let mut spec = nginx_pod_spec();
        spec["hostNetwork"] = json!(true);
        spec["containers"][0]["ports"] = json!([{"containerPort": 80, "protocol": "TCP"}]);
        let mismatch = "spec.containers[0].ports[0].hostPort: Invalid value: 0: must match `containerPort` when `hostNetwork` is true";
        assert_errors(errors_of(&spec, Owner::Pod), &[mismatch]);
        assert_errors(errors_of(&spec, Owner::Template), &[]);
        spec["containers"][0]["ports"][0]["hostPort"] = json!(8080);
        assert_errors(
            errors_of(&spec, Owner::Template),
            &[
                "spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true",
            ],
        );
    }

    #[test]
    fn dns_config() {
        let mut spec = nginx_pod_spec();
        spec["dnsPolicy"] = json!("None");
        assert_errors(
            errors_of(&spec, Owner::Pod),
            &["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"],
        );
        spec["dnsConfig"] = json!({"nameservers": ["10.0.0.10", "1.1.1"], "searches": ["svc.cluster.local.", "_srv.example.com", "Bad.Domain", "."],
                                   "options": [{"name": "ndots", "value": "2"}, {"value": "x"}]});
        assert_errors(
            errors_of(&spec, Owner::Pod),
            &[
                "spec.dnsConfig.nameservers[1]: Invalid value: \"1.1.1\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                &format!("spec.dnsConfig.searches[2]: Invalid value: \"Bad.Domain\": {SEARCH_FORMAT}"),
                "spec.dnsConfig.options[1]: Required value: must not be empty",
            ],
        );
    }

    #[test]
    fn gates_aliases_priority_and_os() {
        let mut spec = nginx_pod_spec();
        spec["readinessGates"] = json!([{"conditionType": "example.com/ready"}, {"conditionType": "not ready"}]);
        spec["schedulingGates"] = json!([{"name": "example.com/quota"}, {"name": "example.com/quota"}]);
        spec["hostAliases"] = json!([{"ip": "127.0.0.1", "hostnames": ["foo.local", "Bar"]}]);
        spec["preemptionPolicy"] = json!("Always");
        spec["os"] = json!({"name": "plan9"});
        assert_errors(
            errors_of(&spec, Owner::Pod),
            &[
                "spec.readinessGates[1].conditionType: Invalid value: \"not ready\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "spec.schedulingGates[1]: Duplicate value: \"example.com/quota\"",
                "spec.hostAliases[0].hostnames[1]: Invalid value: \"Bar\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                "spec.preemptionPolicy: Unsupported value: \"Always\": supported values: \"PreemptLowerPriority\", \"Never\"",
                "spec.os: Unsupported value: \"plan9\": supported values: \"linux\", \"windows\"",
            ],
        );
    }

    #[test]
    fn search_labels() {
        for good in ["a", "_srv", "my_svc-1", "0"] {
            assert!(is_search_label(good), "{good}");
        }
        for bad in ["", "_", "-a", "a_", "A"] {
            assert!(!is_search_label(bad), "{bad}");
        }
    }
}
