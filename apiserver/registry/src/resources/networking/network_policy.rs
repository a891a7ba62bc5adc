//! NetworkPolicies (`ValidateNetworkPolicy` and `...Update`): valid selectors, ports (a
//! protocol upstream knows, defaulted to TCP; a number or name; an end port only after a
//! number), peers that are selectors or one IP block whose exceptions lie strictly inside its
//! CIDR, and at most the two policy types (defaulted from the rules present). CIDRs the stored
//! policy already had stay allowed on update.

use apiserver_machinery::field::{FieldError, FieldErrors, FieldValue, Path};
use serde_json::{Value, json};

use crate::object::Object;
use crate::resources::checks::net::{self, parse_cidr};
use crate::resources::checks::selectors::label_selector;
use crate::resources::checks::{self, field, items, text};

const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
const POLICY_TYPES: &[&str] = &["Ingress", "Egress"];
/// The rule lists of a spec and the peer list each rule has.
const DIRECTIONS: [(&str, &str); 2] = [("ingress", "from"), ("egress", "to")];

fn spec(obj: &Object) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

/// `SetDefaults_NetworkPolicy` and `SetDefaults_NetworkPolicyPort`: ports are TCP unless said
/// otherwise; a policy without types is an Ingress one, and an Egress one too if it has egress
/// rules.
pub fn default_network_policy(obj: &mut Object) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else { return };
    for (direction, _) in DIRECTIONS {
        for rule in spec.get_mut(direction).and_then(Value::as_array_mut).into_iter().flatten() {
            for port in rule.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
                if let Some(port) = port.as_object_mut()
                    && port.get("protocol").is_none_or(Value::is_null)
                {
                    port.insert("protocol".into(), json!("TCP"));
                }
            }
        }
    }
    if spec.get("policyTypes").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        let egress = spec.get("egress").and_then(Value::as_array).is_some_and(|e| !e.is_empty());
        let types = if egress { json!(["Ingress", "Egress"]) } else { json!(["Ingress"]) };
        spec.insert("policyTypes".into(), types);
    }
}

/// networking/v1 NetworkPolicy, on create.
pub fn validate_network_policy(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    policy_spec(&mut errors, spec(obj), &[]);
    errors
}

/// networking/v1 NetworkPolicy, on update.
pub fn validate_network_policy_update(new: &Object, old: &Object) -> FieldErrors {
    let mut known_cidrs = Vec::new();
    for (direction, peers) in DIRECTIONS {
        for rule in items(spec(old), direction) {
            for block in items(rule, peers).iter().filter_map(|peer| field(peer, "ipBlock")) {
                known_cidrs.push(text(block, "cidr").to_string());
                known_cidrs.extend(items(block, "except").iter().filter_map(Value::as_str).map(str::to_string));
            }
        }
    }
    let mut errors = FieldErrors::default();
    policy_spec(&mut errors, spec(new), &known_cidrs);
    errors
}

/// `ValidateNetworkPolicySpec`.
fn policy_spec(errors: &mut FieldErrors, spec: &Value, known_cidrs: &[String]) {
    let path = Path::new("spec");
    label_selector(errors, &path.child("podSelector"), spec.get("podSelector"));
    for (direction, peers) in DIRECTIONS {
        for (i, rule) in items(spec, direction).iter().enumerate() {
            let at = path.child(direction).index(i);
            for (j, port) in items(rule, "ports").iter().enumerate() {
                policy_port(errors, &at.child("ports").index(j), port);
            }
            for (j, peer) in items(rule, peers).iter().enumerate() {
                policy_peer(errors, &at.child(peers).index(j), peer, known_cidrs);
            }
        }
    }
    let types = items(spec, "policyTypes");
    if types.len() > POLICY_TYPES.len() {
        errors.push(FieldError::invalid(
            path.child("policyTypes"),
            FieldValue::raw(Value::Array(types.to_vec()).to_string()),
            "may not specify more than two policyTypes",
        ));
        return;
    }
    for (i, kind) in types.iter().enumerate() {
        checks::one_of(errors, &path.child("policyTypes").index(i), kind.as_str().unwrap_or_default(), POLICY_TYPES);
    }
}

/// `ValidateNetworkPolicyPort`.
fn policy_port(errors: &mut FieldErrors, path: &Path, port: &Value) {
    if let Some(protocol) = field(port, "protocol") {
        checks::one_of(errors, &path.child("protocol"), protocol.as_str().unwrap_or_default(), PROTOCOLS);
    }
    let end_port = port.get("endPort").and_then(Value::as_i64);
    let end_path = path.child("endPort");
    match field(port, "port") {
        Some(Value::String(name)) => {
            if let Some(end) = end_port {
                errors.push(FieldError::invalid(&end_path, end, "may not be specified when `port` is non-numeric"));
            }
            checks::invalid_each(errors, &path.child("port"), name, checks::port_name_problems(name));
        }
        Some(number) => {
            let number = number.as_i64().unwrap_or(0);
            for problem in checks::port_number_problems(number) {
                errors.push(FieldError::invalid(path.child("port"), number, problem));
            }
            if let Some(end) = end_port {
                if end < number {
                    errors.push(FieldError::invalid(&end_path, end, "must be greater than or equal to `port`"));
                }
                for problem in checks::port_number_problems(end) {
                    errors.push(FieldError::invalid(&end_path, end, problem));
                }
            }
        }
        None => {
            if let Some(end) = end_port {
                errors.push(FieldError::invalid(&end_path, end, "may not be specified when `port` is not specified"));
            }
        }
    }
}

/// `ValidateNetworkPolicyPeer`: pod and/or namespace selectors, or one IP block.
fn policy_peer(errors: &mut FieldErrors, path: &Path, peer: &Value, known_cidrs: &[String]) {
    let mut kinds = 0;
    for selector in ["podSelector", "namespaceSelector"] {
        if let Some(selector_value) = field(peer, selector) {
            kinds += 1;
            label_selector(errors, &path.child(selector), Some(selector_value));
        }
    }
    let block = field(peer, "ipBlock");
    if let Some(block) = block {
        kinds += 1;
        ip_block(errors, &path.child("ipBlock"), block, known_cidrs);
    }
    if kinds == 0 {
        errors.push(FieldError::required(path, "must specify a peer"));
    } else if kinds > 1 && block.is_some() {
        errors.push(FieldError::forbidden(path, "may not specify both ipBlock and another peer"));
    }
}

/// `ValidateIPBlock`: a CIDR, and exceptions strictly inside it.
fn ip_block(errors: &mut FieldErrors, path: &Path, block: &Value, known_cidrs: &[String]) {
    let cidr_text = text(block, "cidr");
    if cidr_text.is_empty() {
        errors.push(FieldError::required(path.child("cidr"), ""));
        return;
    }
    let known = |cidr: &str| known_cidrs.iter().any(|k| k == cidr);
    if !known(cidr_text) {
        net::cidr(errors, &path.child("cidr"), cidr_text);
    }
    let Some(cidr) = parse_cidr(cidr_text) else { return };
    for (i, except) in items(block, "except").iter().enumerate() {
        let at = path.child("except").index(i);
        let except_text = except.as_str().unwrap_or_default();
        if !known(except_text) {
            net::cidr(errors, &at, except_text);
        }
        let Some(except) = parse_cidr(except_text) else { continue };
        if !cidr.contains(except.address) || cidr.bits >= except.bits {
            errors.push(FieldError::invalid(&at, except_text, "must be a strict subset of `cidr`"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::checks::testing::messages;

    fn policy(spec: Value) -> Object {
        let Value::Object(mut obj) = json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec}) else {
            unreachable!()
        };
        default_network_policy(&mut obj);
        obj
    }

    #[test]
    fn defaults_and_a_realistic_policy() {
        let allow = policy(json!({"podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}},
                                   "namespaceSelector": {"matchLabels": {"team": "a"}}},
                                  {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24"]}}],
                         "ports": [{"port": 5432}, {"port": "metrics", "protocol": "UDP"}, {"port": 30000, "endPort": 32767}]}],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}));
        assert_eq!(allow["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(allow["spec"]["ingress"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(messages(&validate_network_policy(&allow)), Vec::<String>::new());
        let deny_all = policy(json!({"podSelector": {}}));
        assert_eq!(deny_all["spec"]["policyTypes"], json!(["Ingress"]));
        assert!(validate_network_policy(&deny_all).is_empty());
    }

    #[test]
    fn bad_policies() {
        let bad = policy(json!({"podSelector": {},
            "ingress": [{"from": [{}, {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24", "10.0.0.0/8"]},
                                       "podSelector": {}}],
                         "ports": [{"port": 0, "protocol": "ICMP"}, {"port": "http", "endPort": 90}, {"endPort": 90},
                                   {"port": 100, "endPort": 90}]}],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/33"}}]}],
            "policyTypes": ["Ingress", "Sideways"]}));
        assert_eq!(
            messages(&validate_network_policy(&bad)),
            [
                "spec.ingress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
                "spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ingress[0].ports[1].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
                "spec.ingress[0].ports[2].endPort: Invalid value: 90: may not be specified when `port` is not specified",
                "spec.ingress[0].ports[3].endPort: Invalid value: 90: must be greater than or equal to `port`",
                "spec.ingress[0].from[0]: Required value: must specify a peer",
                "spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"10.1.0.0/24\": must be a strict subset of `cidr`",
                "spec.ingress[0].from[1].ipBlock.except[1]: Invalid value: \"10.0.0.0/8\": must be a strict subset of `cidr`",
                "spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer",
                "spec.egress[0].to[0].ipBlock.cidr: Invalid value: \"10.0.0.0/33\": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
                "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"",
            ]
        );
    }

    #[test]
    fn stored_cidrs_stay_allowed() {
        let old = policy(json!({"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.1"}}]}]}));
        assert_eq!(validate_network_policy(&old).len(), 1);
        assert!(validate_network_policy_update(&old, &old).is_empty());
    }
}
