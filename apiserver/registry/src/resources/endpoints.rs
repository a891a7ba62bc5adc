//! Upstream's validation of the two ways to list a Service's backends, with the port defaults it
//! relies on: core Endpoints (`ValidateEndpoints`: subsets with addresses that are usable IPs,
//! named ports when there are several) and `discovery.k8s.io` EndpointSlices
//! (`pkg/apis/discovery/validation`: an address type that never changes, at most 1000
//! endpoints of 1 to 100 addresses of that type, at most 100 distinct ports).

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use serde_json::{Value, json};

use super::checks::net::{self, as_ipv4, parse_ip};
use super::checks::selectors::labels;
use super::checks::{self, field, items, text};
use crate::object::Object;

/// `supportedPortProtocols`, sorted.
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const ADDRESS_TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];
/// Address types a slice may keep if it was stored with them (`deprecatedAddressTypes`).
const ADDRESS_TYPES_ON_UPDATE: &[&str] = &["FQDN", "IP", "IPv4", "IPv6"];
const MAX_ENDPOINTS: usize = 1000;
const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 100;
const MAX_TOPOLOGY_LABELS: usize = 16;
const MAX_HINTS: usize = 8;

/// `SetDefaults_Endpoints`: ports are TCP unless said otherwise.
pub fn default_endpoints(obj: &mut Object) {
    for subset in obj.get_mut("subsets").and_then(Value::as_array_mut).into_iter().flatten() {
        for port in subset.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(port) = port.as_object_mut()
                && port.get("protocol").and_then(Value::as_str).unwrap_or_default().is_empty()
            {
                port.insert("protocol".into(), json!("TCP"));
            }
        }
    }
}

/// core/v1 Endpoints (create and update alike).
pub fn validate_endpoints(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let path = Path::new("subsets");
    for (i, subset) in obj.get("subsets").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let at = path.index(i);
        let (ready, not_ready) = (items(subset, "addresses"), items(subset, "notReadyAddresses"));
        if ready.is_empty() && not_ready.is_empty() {
            errors.push(FieldError::required(&at, "must specify `addresses` or `notReadyAddresses`"));
        }
        for (list, addresses) in [("addresses", ready), ("notReadyAddresses", not_ready)] {
            for (j, address) in addresses.iter().enumerate() {
                endpoint_address(&mut errors, &at.child(list).index(j), address);
            }
        }
        let ports = items(subset, "ports");
        for (j, port) in ports.iter().enumerate() {
            endpoint_port(&mut errors, &at.child("ports").index(j), port, ports.len() > 1);
        }
    }
    errors
}

/// Endpoints update rules are the create rules.
pub fn validate_endpoints_update(new: &Object, _old: &Object) -> FieldErrors {
    validate_endpoints(new)
}

/// `validateEndpointAddress`.
fn endpoint_address(errors: &mut FieldErrors, path: &Path, address: &Value) {
    let ip = text(address, "ip");
    net::ip(errors, &path.child("ip"), ip);
    let hostname = text(address, "hostname");
    if !hostname.is_empty() {
        checks::dns1123_label(errors, &path.child("hostname"), hostname);
    }
    if let Some(node) = field(address, "nodeName").and_then(Value::as_str) {
        checks::dns1123_subdomain(errors, &path.child("nodeName"), node);
    }
    net::non_special_ip(errors, &path.child("ip"), ip);
}

/// `validateEndpointPort`.
fn endpoint_port(errors: &mut FieldErrors, path: &Path, port: &Value, name_required: bool) {
    let name = text(port, "name");
    if name.is_empty() && name_required {
        errors.push(FieldError::required(path.child("name"), ""));
    } else if !name.is_empty() {
        checks::dns1123_label(errors, &path.child("name"), name);
    }
    let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
    for problem in checks::port_number_problems(number) {
        errors.push(FieldError::invalid(path.child("port"), number, problem));
    }
    protocol_and_app_protocol(errors, path, port);
}

fn protocol_and_app_protocol(errors: &mut FieldErrors, path: &Path, port: &Value) {
    match text(port, "protocol") {
        "" => errors.push(FieldError::required(path.child("protocol"), "")),
        protocol => checks::one_of(errors, &path.child("protocol"), protocol, PROTOCOLS),
    }
    if let Some(app_protocol) = field(port, "appProtocol").and_then(Value::as_str) {
        checks::qualified_name(errors, &path.child("appProtocol"), app_protocol);
    }
}

/// `SetDefaults_EndpointPort` (discovery): an unnamed TCP port unless said otherwise.
pub fn default_endpoint_slice(obj: &mut Object) {
    for port in obj.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
        let Some(port) = port.as_object_mut() else { continue };
        for (key, default) in [("name", ""), ("protocol", "TCP")] {
            if port.get(key).is_none_or(Value::is_null) {
                port.insert(key.into(), json!(default));
            }
        }
    }
}

/// discovery.k8s.io/v1 EndpointSlice, on create.
pub fn validate_endpoint_slice(obj: &Object) -> FieldErrors {
    endpoint_slice(obj, ADDRESS_TYPES)
}

/// discovery.k8s.io/v1 EndpointSlice, on update: the address type never changes.
pub fn validate_endpoint_slice_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = endpoint_slice(new, ADDRESS_TYPES_ON_UPDATE);
    checks::immutable(&mut errors, &Path::new("addressType"), new.get("addressType"), old.get("addressType"));
    errors
}

/// `ValidateEndpointSlice` with the address types allowed.
fn endpoint_slice(obj: &Object, address_types: &[&str]) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let address_type = obj.get("addressType").and_then(Value::as_str).unwrap_or_default();
    match address_type {
        "" => errors.push(FieldError::required("addressType", "")),
        kind => checks::one_of(&mut errors, &Path::new("addressType"), kind, address_types),
    }
    slice_endpoints(&mut errors, obj, address_type);
    slice_ports(&mut errors, obj);
    errors
}

/// `validateEndpoints`.
fn slice_endpoints(errors: &mut FieldErrors, obj: &Object, address_type: &str) {
    let path = Path::new("endpoints");
    let endpoints = obj.get("endpoints").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if endpoints.len() > MAX_ENDPOINTS {
        errors.push(FieldError::too_many(&path, endpoints.len(), MAX_ENDPOINTS));
        return;
    }
    for (i, endpoint) in endpoints.iter().enumerate() {
        let at = path.index(i);
        let addresses_path = at.child("addresses");
        let addresses = items(endpoint, "addresses");
        if addresses.is_empty() {
            errors.push(FieldError::required(&addresses_path, "must contain at least 1 address"));
        } else if addresses.len() > MAX_ADDRESSES {
            errors.push(FieldError::too_many(&addresses_path, addresses.len(), MAX_ADDRESSES));
        }
        for (j, address) in addresses.iter().enumerate() {
            slice_address(errors, &addresses_path.index(j), address.as_str().unwrap_or_default(), address_type);
        }
        // v1 calls it `deprecatedTopology`; upstream reports the internal name.
        let topology = at.child("topology");
        let labels_count = endpoint.get("deprecatedTopology").and_then(Value::as_object).map_or(0, |m| m.len());
        if labels_count > MAX_TOPOLOGY_LABELS {
            errors.push(FieldError::too_many(&topology, labels_count, MAX_TOPOLOGY_LABELS));
        }
        labels(errors, &topology, endpoint.get("deprecatedTopology"));
        if let Some(hostname) = field(endpoint, "hostname").and_then(Value::as_str) {
            checks::dns1123_label(errors, &at.child("hostname"), hostname);
        }
        if let Some(node) = field(endpoint, "nodeName").and_then(Value::as_str) {
            checks::dns1123_subdomain(errors, &at.child("nodeName"), node);
        }
        if let Some(hints) = field(endpoint, "hints") {
            slice_hints(errors, &at.child("hints"), hints);
        }
    }
}

/// One address, checked as its slice's type says (unknown types are not checked).
fn slice_address(errors: &mut FieldErrors, path: &Path, address: &str, address_type: &str) {
    let ip = parse_ip(address);
    match address_type {
        "IP" => net::ip(errors, path, address),
        "IPv4" => {
            if ip.and_then(as_ipv4).is_none() {
                errors.push(FieldError::invalid(path, address, "must be a valid IPv4 address"));
            }
            net::non_special_ip(errors, path, address);
        }
        "IPv6" => {
            if ip.is_none_or(|ip| as_ipv4(ip).is_some()) {
                errors.push(FieldError::invalid(path, address, "must be a valid IPv6 address"));
            }
            net::non_special_ip(errors, path, address);
        }
        "FQDN" => fully_qualified_domain_name(errors, path, address),
        _ => {}
    }
}

/// `IsFullyQualifiedDomainName`: a DNS subdomain of at least two labels (a final dot allowed).
fn fully_qualified_domain_name(errors: &mut FieldErrors, path: &Path, name: &str) {
    if name.is_empty() {
        errors.push(FieldError::required(path, ""));
        return;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let problems = names::dns1123_subdomain(name);
    if !problems.is_empty() {
        checks::invalid_each(errors, path, name, problems);
        return;
    }
    if !name.contains('.') {
        errors.push(FieldError::invalid(path, name, "should be a domain with at least two segments separated by dots"));
        return;
    }
    if let Some(label) = name.split('.').find(|label| !names::dns1123_label(label).is_empty()) {
        checks::invalid_each(errors, path, label, names::dns1123_label(label));
    }
}

/// `validateHints`: at most 8 zones (and nodes), each named once.
fn slice_hints(errors: &mut FieldErrors, path: &Path, hints: &Value) {
    for (list, node_names) in [("forZones", false), ("forNodes", true)] {
        let at = path.child(list);
        let entries = items(hints, list);
        if entries.len() > MAX_HINTS {
            errors.push(FieldError::too_many(&at, entries.len(), MAX_HINTS));
            continue;
        }
        let mut seen = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let name_path = at.index(i).child("name");
            let name = text(entry, "name");
            if seen.contains(&name) {
                errors.push(FieldError::duplicate(&name_path, name));
            } else {
                seen.push(name);
            }
            let problems = if node_names { names::dns1123_subdomain(name) } else { names::label_value(name) };
            checks::invalid_each(errors, &name_path, name, problems);
        }
    }
}

/// `validatePorts`.
fn slice_ports(errors: &mut FieldErrors, obj: &Object) {
    let path = Path::new("ports");
    let ports = obj.get("ports").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if ports.len() > MAX_PORTS {
        errors.push(FieldError::too_many(&path, ports.len(), MAX_PORTS));
        return;
    }
    let mut names_seen = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let at = path.index(i);
        let name = text(port, "name");
        if !name.is_empty() {
            checks::dns1123_label(errors, &at.child("name"), name);
        }
        if names_seen.contains(&name) {
            errors.push(FieldError::duplicate(at.child("name"), name));
        } else {
            names_seen.push(name);
        }
        protocol_and_app_protocol(errors, &at, port);
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

    #[test]
    fn realistic_endpoints_pass() {
        let mut endpoints = object(json!({"subsets": [{
            "addresses": [{"ip": "10.244.1.5", "nodeName": "node-1", "hostname": "web-0",
                           "targetRef": {"kind": "Pod", "name": "web-0", "namespace": "default"}}],
            "notReadyAddresses": [{"ip": "2001:db8::5"}],
            "ports": [{"name": "http", "port": 80}, {"name": "metrics", "port": 9090, "appProtocol": "http"}]}]}));
        default_endpoints(&mut endpoints);
        assert_eq!(endpoints["subsets"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(messages(&validate_endpoints(&endpoints)), Vec::<String>::new());
    }

    #[test]
    fn bad_endpoints() {
        let bad = object(json!({"subsets": [{}, {"addresses": [{"ip": "127.0.0.1"}, {"ip": "nope"}],
            "ports": [{"port": 0, "protocol": "ICMP"}, {"name": "b", "port": 1, "protocol": "TCP"}]}]}));
        assert_eq!(
            messages(&validate_endpoints(&bad)),
            [
                "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`",
                "subsets[1].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
                "subsets[1].addresses[1].ip: Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                "subsets[1].addresses[1].ip: Invalid value: \"nope\": must be a valid IP address",
                "subsets[1].ports[0].name: Required value",
                "subsets[1].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "subsets[1].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            ]
        );
    }

    /// What the EndpointSlice controller writes.
    fn slice() -> Object {
        let mut slice = object(json!({"addressType": "IPv4",
            "endpoints": [{"addresses": ["10.0.0.7"], "conditions": {"ready": true, "serving": true, "terminating": false},
                           "nodeName": "node-1", "zone": "a", "hints": {"forZones": [{"name": "a"}]},
                           "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "default"}}],
            "ports": [{"name": "http", "port": 80}]}));
        default_endpoint_slice(&mut slice);
        slice
    }

    #[test]
    fn realistic_slices_pass() {
        let slice = slice();
        assert_eq!(slice["ports"][0]["protocol"], "TCP");
        assert_eq!(messages(&validate_endpoint_slice(&slice)), Vec::<String>::new());
        let mut fqdn = slice.clone();
        fqdn["addressType"] = json!("FQDN");
        fqdn["endpoints"][0]["addresses"] = json!(["db.example.com."]);
        assert!(validate_endpoint_slice(&fqdn).is_empty());
        let mut unnamed =
            object(json!({"addressType": "IPv6", "endpoints": [{"addresses": ["2001:db8::7"]}], "ports": [{}]}));
        default_endpoint_slice(&mut unnamed);
        assert!(validate_endpoint_slice(&unnamed).is_empty());
    }

    #[test]
    fn bad_slices() {
        let mut bad = slice();
        bad["endpoints"] = json!([{"addresses": []}, {"addresses": ["2001:db8::1", "169.254.0.1"], "hostname": "Web"}]);
        bad["ports"] = json!([{"name": "http", "protocol": "TCP"}, {"name": "http", "protocol": "TCP"}]);
        assert_eq!(
            messages(&validate_endpoint_slice(&bad)),
            [
                "endpoints[0].addresses: Required value: must contain at least 1 address",
                "endpoints[1].addresses[0]: Invalid value: \"2001:db8::1\": must be a valid IPv4 address",
                "endpoints[1].addresses[1]: Invalid value: \"169.254.0.1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)",
                "endpoints[1].hostname: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "ports[1].name: Duplicate value: \"http\"",
            ]
        );
        let mut many = slice();
        many["endpoints"] = Value::Array(vec![json!({"addresses": ["10.0.0.1"]}); 1001]);
        assert_eq!(
            messages(&validate_endpoint_slice(&many)),
            ["endpoints: Too many: 1001: must have at most 1000 items"]
        );
        assert_eq!(
            messages(&validate_endpoint_slice(&object(json!({"addressType": "IP"})))),
            ["addressType: Unsupported value: \"IP\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""]
        );
    }

    #[test]
    fn the_address_type_never_changes() {
        let old = slice();
        let mut other = old.clone();
        other["addressType"] = json!("IPv6");
        other["endpoints"] = json!([]);
        assert_eq!(
            messages(&validate_endpoint_slice_update(&other, &old)),
            ["addressType: Invalid value: \"IPv6\": field is immutable"]
        );
    }
}
