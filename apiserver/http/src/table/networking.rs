//! `networking.k8s.io`: ingresses, ingress classes, network policies.

use serde_json::{Value, json};

use super::core::load_balancer_addresses;
use super::{AGE, Column, NAME, Printer, age, format_label_selector, items, name, object, text};

pub(super) static INGRESSES: Printer = Printer::new(
    &[
        NAME,
        Column::string(
            "Class",
            "The name of the IngressClass resource that should be used for additional configuration",
        ),
        Column::string("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
        Column::string("Address", "Address is a list containing ingress points for the load-balancer"),
        Column::string("Ports", "Ports of TLS configurations that open"),
        AGE,
    ],
    |obj, now| {
        let class = obj.pointer("/spec/ingressClassName").and_then(Value::as_str).unwrap_or("<none>");
        let ports = if items(obj, "/spec/tls").is_empty() { "80" } else { "80, 443" };
        vec![
            name(obj),
            json!(class),
            json!(hosts(items(obj, "/spec/rules"))),
            json!(load_balancer_addresses(obj.pointer("/status/loadBalancer")).join(",")),
            json!(ports),
            age(obj, now),
        ]
    },
);

/// The rules' hosts, up to three, then `+ N more...` (N counting every further rule); `*` when
/// no rule names a host.
fn hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        more |= list.len() == MAX;
        let host = text(rule, "/host");
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    match (list.is_empty(), more) {
        (true, _) => "*".to_string(),
        (false, true) => format!("{} + {} more...", list.join(","), rules.len() - MAX),
        (false, false) => list.join(","),
    }
}

pub(super) static INGRESS_CLASSES: Printer = Printer::new(
    &[
        NAME,
        Column::string("Controller", "Controller that is responsible for handling this class"),
        Column::string("Parameters", "A reference to a resource with additional parameters"),
        AGE,
    ],
    |obj, now| {
        let parameters = match object(obj, "/spec/parameters") {
            None => "<none>".to_string(),
            Some(_) => {
                let kind = match obj.pointer("/spec/parameters/apiGroup").and_then(Value::as_str) {
                    Some(group) => format!("{}.{group}", text(obj, "/spec/parameters/kind")),
                    None => text(obj, "/spec/parameters/kind").to_string(),
                };
                format!("{kind}/{}", text(obj, "/spec/parameters/name"))
            }
        };
        vec![name(obj), json!(text(obj, "/spec/controller")), json!(parameters), age(obj, now)]
    },
);

pub(super) static NETWORK_POLICIES: Printer = Printer::new(
    &[NAME, Column::string("Pod-Selector", "Selects the pods to which this NetworkPolicy object applies."), AGE],
    |obj, now| vec![name(obj), json!(format_label_selector(obj.pointer("/spec/podSelector"))), age(obj, now)],
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{ago, cells, headers};

    #[test]
    fn ingresses() {
        assert_eq!(headers("networking.k8s.io", "ingresses"), ["Name", "Class", "Hosts", "Address", "Ports", "Age"]);
        let ingress = json!({
            "metadata": {"name": "web", "creationTimestamp": ago(5)},
            "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example"]}],
                     "rules": [{"host": "a.example"}, {}, {"host": "b.example"}, {"host": "c.example"}, {"host": "d.example"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "5.5.5.5"}, {"hostname": "lb.example"}]}},
        });
        assert_eq!(
            cells("networking.k8s.io", "ingresses", ingress),
            json!(["web", "nginx", "a.example,b.example,c.example + 2 more...", "5.5.5.5,lb.example", "80, 443", "5s"])
        );
        let bare = json!({"metadata": {"name": "x"}, "spec": {"rules": [{}]}});
        assert_eq!(cells("networking.k8s.io", "ingresses", bare), json!(["x", "<none>", "*", "", "80", "<unknown>"]));
    }

    #[test]
    fn ingress_classes_and_network_policies() {
        let class = json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}});
        assert_eq!(
            cells("networking.k8s.io", "ingressclasses", class),
            json!(["nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "<unknown>"])
        );
        let bare = json!({"metadata": {"name": "x"}, "spec": {"controller": "c"}});
        assert_eq!(cells("networking.k8s.io", "ingressclasses", bare)[2], "<none>");
        assert_eq!(headers("networking.k8s.io", "networkpolicies"), ["Name", "Pod-Selector", "Age"]);
        let deny_all = json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}});
        assert_eq!(cells("networking.k8s.io", "networkpolicies", deny_all)[1], "<none>");
        let web = json!({"metadata": {"name": "web"}, "spec": {"podSelector": {"matchLabels": {"app": "web"}}}});
        assert_eq!(cells("networking.k8s.io", "networkpolicies", web)[1], "app=web");
    }
}
