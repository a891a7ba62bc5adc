//! Services: upstream's defaults, a ClusterIP from the service range and NodePorts from
//! 30000-32767 (claimed in the store, so never handed out twice), port validation, and an
//! immutable ClusterIP.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::names;
use apiserver_machinery::resources::{self, ResourceInfo};
use k8s_openapi::api::core::v1::Service;
use rand::Rng;
use serde_json::{Value, json};

use crate::fields::SelectableField;
use crate::object::Object;
use crate::strategy::{Strategy, check_shape};
use k8s_openapi::schemars::{Schema, SchemaGenerator};

/// The service ClusterIP range: 10.96.0.0/12 (kubeadm's default). 10.96.0.1 is the
/// `default/kubernetes` Service's.
pub const SERVICE_RANGE: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 96, 0, 0), 12);
/// The NodePort range.
pub const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;
const TYPES: &[&str] = &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];

/// Strategy of `services`.
#[derive(Debug, Clone, Copy)]
pub struct Services;

fn in_range(ip: Ipv4Addr) -> bool {
    let (base, bits) = SERVICE_RANGE;
    let mask = u32::MAX << (32 - bits);
    u32::from(ip) & mask == u32::from(base)
}

fn service_type(obj: &Object) -> &str {
    obj.get("spec").and_then(|s| s.get("type")).and_then(Value::as_str).unwrap_or("ClusterIP")
}

fn cluster_ip(obj: &Object) -> &str {
    obj.get("spec").and_then(|s| s.get("clusterIP")).and_then(Value::as_str).unwrap_or("")
}

fn wants_node_ports(obj: &Object) -> bool {
    matches!(service_type(obj), "NodePort" | "LoadBalancer")
}

fn ports(obj: &Object) -> Vec<Value> {
    obj.get("spec").and_then(|s| s.get("ports")).and_then(Value::as_array).cloned().unwrap_or_default()
}

impl Strategy for Services {
    fn resource(&self) -> &'static ResourceInfo {
        resources::find("", "v1", "services").expect("services are in the table")
    }

    fn check_shape(&self, obj: &Value, unknown: Option<&mut Vec<String>>) -> Result<(), String> {
        check_shape::<Service>(obj, unknown)
    }

    fn schema(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<Service>()
    }

    fn validate_name(&self, name: &str) -> Vec<String> {
        names::dns1035_label(name)
    }

    fn prepare_for_create(&self, obj: &mut Object) {
        let spec = obj.entry("spec").or_insert_with(|| json!({}));
        if let Some(spec) = spec.as_object_mut() {
            spec.entry("type").or_insert(json!("ClusterIP"));
            spec.entry("sessionAffinity").or_insert(json!("None"));
            let external_name = spec.get("type") == Some(&json!("ExternalName"));
            if !external_name {
                spec.entry("internalTrafficPolicy").or_insert(json!("Cluster"));
                spec.entry("ipFamilies").or_insert(json!(["IPv4"]));
                spec.entry("ipFamilyPolicy").or_insert(json!("SingleStack"));
            }
            if matches!(spec.get("type").and_then(Value::as_str), Some("NodePort" | "LoadBalancer")) {
                spec.entry("externalTrafficPolicy").or_insert(json!("Cluster"));
            }
            if let Some(Value::Array(ports)) = spec.get_mut("ports") {
                for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                    port.entry("protocol").or_insert(json!("TCP"));
                    if let Some(number) = port.get("port").cloned() {
                        port.entry("targetPort").or_insert(number);
                    }
                }
            }
        }
        obj.insert("status".into(), json!({"loadBalancer": {}}));
    }

    fn prepare_for_update(&self, new: &mut Object, old: &Object) {
        // A client that omits the ClusterIP (or NodePorts) keeps the ones it has.
        if cluster_ip(new).is_empty() && !cluster_ip(old).is_empty() {
            let spec = new.entry("spec").or_insert_with(|| json!({}));
            spec["clusterIP"] = json!(cluster_ip(old));
            spec["clusterIPs"] =
                old.get("spec").and_then(|s| s.get("clusterIPs")).cloned().unwrap_or(json!([cluster_ip(old)]));
        }
        let old_ports = ports(old);
        if let Some(Value::Array(new_ports)) = new.get_mut("spec").and_then(|s| s.get_mut("ports")) {
            for port in new_ports.iter_mut().filter_map(Value::as_object_mut) {
                if port.get("nodePort").and_then(Value::as_i64).unwrap_or(0) == 0
                    && let Some(previous) = old_ports
                        .iter()
                        .find(|p| p.get("port") == port.get("port") && p.get("protocol") == port.get("protocol"))
                    && let Some(node_port) = previous.get("nodePort")
                {
                    port.insert("nodePort".into(), node_port.clone());
                }
            }
        }
    }

    fn uses_claims(&self) -> bool {
        true
    }

    fn claims(&self, obj: &Object) -> Vec<String> {
        let mut claims = Vec::new();
        let ip = cluster_ip(obj);
        if !ip.is_empty() && ip != "None" {
            claims.push(format!("serviceips/{ip}"));
        }
        for port in ports(obj) {
            if let Some(node_port) = port.get("nodePort").and_then(Value::as_i64).filter(|&p| p != 0) {
                let claim = format!("nodeports/{node_port}");
                if !claims.contains(&claim) {
                    claims.push(claim);
                }
            }
        }
        claims
    }

    fn allocate(&self, obj: &mut Object, taken: &HashSet<String>) -> FieldErrors {
        let mut errors = FieldErrors::default();
        let is_external_name = service_type(obj) == "ExternalName";
        let node_ports = wants_node_ports(obj);
        let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else { return errors };
        let mut rng = rand::rng();
        // ClusterIP: chosen here unless headless ("None") or ExternalName.
        let requested = spec.get("clusterIP").and_then(Value::as_str).unwrap_or("").to_string();
        if !is_external_name && requested != "None" {
            let ip = if requested.is_empty() {
                let (base, bits) = SERVICE_RANGE;
                let size = 1u32 << (32 - bits);
                let free = (0..64)
                    .map(|_| rng.random_range(2..size - 1))
                    .map(|offset| Ipv4Addr::from(u32::from(base) + offset))
                    .find(|ip| !taken.contains(&format!("serviceips/{ip}")));
                match free {
                    Some(ip) => Some(ip.to_string()),
                    None => {
                        errors.push(FieldError::invalid(
                            "spec.clusterIPs",
                            "",
                            "failed to allocate a service IP: range is full",
                        ));
                        None
                    }
                }
            } else {
                match requested.parse::<Ipv4Addr>() {
                    Ok(ip) if !in_range(ip) => {
                        errors.push(FieldError::invalid(
                            Path::new("spec").child("clusterIPs").index(0),
                            requested.as_str(),
                            format!("failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
                        ));
                        None
                    }
                    Ok(ip) if taken.contains(&format!("serviceips/{ip}")) => {
                        errors.push(FieldError::invalid(
                            Path::new("spec").child("clusterIPs").index(0),
                            requested.as_str(),
                            format!("failed to allocate IP {ip}: provided IP is already allocated"),
                        ));
                        None
                    }
                    Ok(ip) => Some(ip.to_string()),
                    Err(_) => {
                        errors.push(FieldError::invalid(
                            "spec.clusterIP",
                            requested.as_str(),
                            "must be a valid IP address",
                        ));
                        None
                    }
                }
            };
            if let Some(ip) = ip {
                spec.insert("clusterIP".into(), json!(ip));
                spec.insert("clusterIPs".into(), json!([ip]));
            }
        } else if requested == "None" {
            spec.insert("clusterIPs".into(), json!(["None"]));
        }
        // NodePorts for NodePort and LoadBalancer services.
        if node_ports && let Some(Value::Array(ports)) = spec.get_mut("ports") {
            let mut chosen: HashSet<i64> = HashSet::new();
            for (i, port) in ports.iter_mut().enumerate() {
                let Some(port) = port.as_object_mut() else { continue };
                let requested = port.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
                let path = Path::new("spec").child("ports").index(i).child("nodePort");
                if requested != 0 {
                    if !NODE_PORTS.contains(&requested) {
                        errors.push(FieldError::invalid(
                            &path,
                            requested,
                            "provided port is not in the valid range. The range of valid ports is 30000-32767",
                        ));
                    } else if taken.contains(&format!("nodeports/{requested}")) {
                        errors.push(FieldError::invalid(&path, requested, "provided port is already allocated"));
                    }
                    chosen.insert(requested);
                    continue;
                }
                let free = (0..256)
                    .map(|_| rng.random_range(NODE_PORTS))
                    .find(|p| !chosen.contains(p) && !taken.contains(&format!("nodeports/{p}")));
                match free {
                    Some(node_port) => {
                        chosen.insert(node_port);
                        port.insert("nodePort".into(), json!(node_port));
                    }
                    None => errors.push(FieldError::invalid(&path, 0, "failed to allocate a node port: range is full")),
                }
            }
        }
        errors
    }

    fn validate(&self, obj: &Object) -> FieldErrors {
        let mut errors = FieldErrors::default();
        let kind = service_type(obj);
        if !TYPES.contains(&kind) {
            errors.push(FieldError::not_supported("spec.type", kind, TYPES));
        }
        let ports = ports(obj);
        let headless = cluster_ip(obj) == "None";
        if kind == "ExternalName" {
            let external = obj.get("spec").and_then(|s| s.get("externalName")).and_then(Value::as_str).unwrap_or("");
            if external.is_empty() {
                errors.push(FieldError::required("spec.externalName", ""));
            }
        } else if ports.is_empty() && !headless {
            errors.push(FieldError::required("spec.ports", ""));
        }
        let mut names_seen = HashSet::new();
        for (i, port) in ports.iter().enumerate() {
            let path = Path::new("spec").child("ports").index(i);
            let name = port.get("name").and_then(Value::as_str).unwrap_or("");
            if ports.len() > 1 && name.is_empty() {
                errors.push(FieldError::required(path.child("name"), ""));
            }
            if !name.is_empty() {
                for problem in names::dns1123_label(name) {
                    errors.push(FieldError::invalid(path.child("name"), name, problem));
                }
                if !names_seen.insert(name.to_string()) {
                    errors.push(FieldError::duplicate(path.child("name"), name));
                }
            }
            let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
            if !(1..=65535).contains(&number) {
                errors.push(FieldError::invalid(path.child("port"), number, "must be between 1 and 65535, inclusive"));
            }
            let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            if !PROTOCOLS.contains(&protocol) {
                errors.push(FieldError::not_supported(path.child("protocol"), protocol, PROTOCOLS));
            }
        }
        errors
    }

    fn validate_update(&self, new: &Object, old: &Object) -> FieldErrors {
        let mut errors = self.validate(new);
        let (before, after) = (cluster_ip(old), cluster_ip(new));
        if !before.is_empty() && before != after && service_type(old) != "ExternalName" {
            errors.push(FieldError::invalid(
                Path::new("spec").child("clusterIPs").index(0),
                after,
                "may not change once set",
            ));
        }
        errors
    }

    fn selectable_fields(&self) -> &'static [SelectableField] {
        const FIELDS: &[SelectableField] =
            &[SelectableField::path("spec.clusterIP"), SelectableField::path("spec.type")];
        FIELDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_range() {
        assert!(in_range(Ipv4Addr::new(10, 96, 0, 1)));
        assert!(in_range(Ipv4Addr::new(10, 111, 255, 254)));
        assert!(!in_range(Ipv4Addr::new(10, 112, 0, 1)));
        assert!(!in_range(Ipv4Addr::new(192, 168, 0, 1)));
    }
}
