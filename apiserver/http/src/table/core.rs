//! The core group (`v1`), pods aside (`pods.rs`): namespaces, config maps, secrets, service
//! accounts, services, endpoints, events, nodes, persistent volumes and claims, replication
//! controllers, pod templates, resource quotas, component statuses.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{
    AGE, CONTAINERS, Column, IMAGES, NAME, Printer, SELECTOR, age, containers, deleting, format_labels, int, int_or,
    items, name, object, or_none, since, text,
};

pub(super) static NAMESPACES: Printer =
    Printer::new(&[NAME, Column::string("Status", "The status of the namespace"), AGE], |obj, now| {
        vec![name(obj), json!(text(obj, "/status/phase")), age(obj, now)]
    });

pub(super) static CONFIG_MAPS: Printer =
    Printer::new(&[NAME, Column::string("Data", "Data contains the configuration data."), AGE], |obj, now| {
        vec![name(obj), json!(entries(obj, "/data") + entries(obj, "/binaryData")), age(obj, now)]
    });

pub(super) static SECRETS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Type", "Used to facilitate programmatic handling of secret data."),
        Column::string("Data", "Data contains the secret data."),
        AGE,
    ],
    |obj, now| vec![name(obj), json!(text(obj, "/type")), json!(entries(obj, "/data")), age(obj, now)],
);

/// Since v1.35 upstream no longer prints the SECRETS count (`secrets` is no longer filled in).
pub(super) static SERVICE_ACCOUNTS: Printer = Printer::new(&[NAME, AGE], |obj, now| vec![name(obj), age(obj, now)]);

/// How many entries a map has (0 when absent).
fn entries(obj: &Value, pointer: &str) -> usize {
    object(obj, pointer).map_or(0, |m| m.len())
}

pub(super) static SERVICES: Printer = Printer::new(
    &[
        NAME,
        Column::string("Type", "The type of the service: ClusterIP, NodePort, LoadBalancer or ExternalName."),
        Column::string("Cluster-IP", "The IP address of the service, usually assigned by the control plane."),
        Column::string("External-IP", "The IP addresses at which the service is reachable from outside the cluster."),
        Column::string("Port(s)", "The ports the service exposes."),
        AGE,
        Column::string("Selector", "Route service traffic to pods with label keys and values matching this selector.")
            .wide(),
    ],
    service_cells,
);

/// TYPE, CLUSTER-IP (the first of `clusterIPs`), EXTERNAL-IP, PORT(S) (`80/TCP`,
/// `80:30080/TCP`), SELECTOR.
fn service_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let kind = match text(obj, "/spec/type") {
        "" => "ClusterIP",
        kind => kind,
    };
    let cluster_ip = match items(obj, "/spec/clusterIPs").first().and_then(Value::as_str) {
        Some(ip) => ip,
        None => text(obj, "/spec/clusterIP"),
    };
    let ports: Vec<String> = items(obj, "/spec/ports")
        .iter()
        .map(|p| {
            let protocol = match text(p, "/protocol") {
                "" => "TCP",
                protocol => protocol,
            };
            match int(p, "/nodePort") {
                0 => format!("{}/{protocol}", int(p, "/port")),
                node_port => format!("{}:{node_port}/{protocol}", int(p, "/port")),
            }
        })
        .collect();
    vec![
        name(obj),
        json!(kind),
        json!(or_none(cluster_ip)),
        json!(external_ip(obj, kind)),
        json!(or_none(&ports.join(","))),
        age(obj, now),
        json!(format_labels(object(obj, "/spec/selector"))),
    ]
}

/// EXTERNAL-IP: `externalIPs` (ClusterIP, NodePort), the load balancer's addresses then
/// `externalIPs` (`<pending>` until there are any), or the external name.
fn external_ip(obj: &Value, kind: &str) -> String {
    let external: Vec<&str> = items(obj, "/spec/externalIPs").iter().filter_map(Value::as_str).collect();
    match kind {
        "ClusterIP" | "NodePort" => or_none(&external.join(",")),
        "LoadBalancer" => {
            let mut addresses = load_balancer_addresses(obj.pointer("/status/loadBalancer"));
            addresses.extend(external.into_iter().map(str::to_string));
            if addresses.is_empty() { "<pending>".to_string() } else { addresses.join(",") }
        }
        "ExternalName" => text(obj, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// A load balancer status's ingress points: each one's IP, else its hostname; sorted, without
/// duplicates. (Services and Ingresses share the shape.)
pub(super) fn load_balancer_addresses(status: Option<&Value>) -> Vec<String> {
    let mut addresses: Vec<String> = status
        .map_or(&[][..], |s| items(s, "/ingress"))
        .iter()
        .map(|i| match text(i, "/ip") {
            "" => text(i, "/hostname"),
            ip => ip,
        })
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    addresses.sort();
    addresses.dedup();
    addresses
}

pub(super) static ENDPOINTS: Printer = Printer::new(
    &[NAME, Column::string("Endpoints", "The set of all endpoints is the union of all subsets."), AGE],
    |obj, now| vec![name(obj), json!(endpoints(obj)), age(obj, now)],
);

/// Up to three `ip:port` pairs (bare IPs for subsets without ports), then `+ N more...`;
/// `<none>` without subsets.
fn endpoints(obj: &Value) -> String {
    const MAX: usize = 3;
    let subsets = items(obj, "/subsets");
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let mut list: Vec<String> = Vec::new();
    let mut count = 0;
    for subset in subsets {
        let addresses: Vec<&str> = items(subset, "/addresses").iter().map(|a| text(a, "/ip")).collect();
        let ports = items(subset, "/ports");
        if ports.is_empty() {
            count += addresses.len();
            list.extend(addresses.iter().take(MAX.saturating_sub(list.len())).map(|ip| ip.to_string()));
            continue;
        }
        for port in ports {
            count += addresses.len();
            let port = int(port, "/port");
            for ip in addresses.iter().take(MAX.saturating_sub(list.len())) {
                list.push(if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") });
            }
        }
    }
    let shown = list.join(",");
    if count > list.len() && list.len() == MAX { format!("{shown} + {} more...", count - MAX) } else { shown }
}

pub(super) static EVENTS: Printer = Printer::new(EVENT_COLUMNS, event_cells);

/// Event columns: most are wide, and NAME comes last.
pub(super) const EVENT_COLUMNS: &[Column] = &[
    Column::string("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    Column::string("Type", "Type of this event (Normal, Warning)."),
    Column::string("Reason", "A short, machine understandable string for the transition into the object's status."),
    Column::string("Object", "The object that this event is about."),
    Column::string("Subobject", "The part of the object the event is about, as a field path.").wide(),
    Column::string("Source", "The component reporting this event.").wide(),
    Column::string("Message", "A human-readable description of the status of this operation."),
    Column::string("First Seen", "The time at which the event was first recorded.").wide(),
    Column::string("Count", "The number of times this event has occurred.").wide(),
    Column::string("Name", "Name must be unique within a namespace.").name_format().wide(),
];

/// LAST SEEN (the series' last observation, the last timestamp, or else FIRST SEEN), TYPE,
/// REASON, OBJECT (`kind/name`, kind lower-cased), SUBOBJECT, SOURCE (`component, host`),
/// MESSAGE, FIRST SEEN (the first timestamp, else the event time), COUNT (the series' count,
/// the count, or 1 for a singleton), NAME. Shared with `events.k8s.io` (`events.rs`).
pub(super) fn event_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let present = |pointer: &str| obj.pointer(pointer).filter(|v| v.as_str().is_some_and(|s| !s.is_empty()));
    let first_seen = match present("/firstTimestamp") {
        Some(first) => since(Some(first), now),
        None => since(present("/eventTime"), now),
    };
    let mut last_seen = match present("/lastTimestamp") {
        Some(last) => since(Some(last), now),
        None => first_seen.clone(),
    };
    let mut count = int(obj, "/count");
    if object(obj, "/series").is_some() {
        last_seen = since(obj.pointer("/series/lastObservedTime"), now);
        count = int(obj, "/series/count");
    } else if count == 0 {
        count = 1;
    }
    let kind = text(obj, "/involvedObject/kind").to_lowercase();
    let target = match text(obj, "/involvedObject/name") {
        "" => kind,
        involved => format!("{kind}/{involved}"),
    };
    let first_non_empty = |a: &'static str, b: &'static str| match text(obj, a) {
        "" => text(obj, b),
        value => value,
    };
    let component = first_non_empty("/source/component", "/reportingComponent");
    let source = match first_non_empty("/source/host", "/reportingInstance") {
        "" => component.to_string(),
        host => format!("{component}, {host}"),
    };
    vec![
        json!(last_seen),
        json!(text(obj, "/type")),
        json!(text(obj, "/reason")),
        json!(target),
        json!(text(obj, "/involvedObject/fieldPath")),
        json!(source),
        json!(text(obj, "/message").trim()),
        json!(first_seen),
        json!(count),
        name(obj),
    ]
}

pub(super) static NODES: Printer = Printer::new(
    &[
        NAME,
        Column::string("Status", "The status of the node"),
        Column::string("Roles", "The roles of the node"),
        AGE,
        Column::string("Version", "Kubelet Version reported by the node."),
        Column::string("Internal-IP", "List of addresses reachable to the node.").wide(),
        Column::string("External-IP", "List of addresses reachable to the node.").wide(),
        Column::string(
            "OS-Image",
            "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
        )
        .wide(),
        Column::string(
            "Kernel-Version",
            "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
        )
        .wide(),
        Column::string(
            "Container-Runtime",
            "ContainerRuntime Version reported by the node through runtime remote API.",
        )
        .wide(),
    ],
    node_cells,
);

/// STATUS (`Ready`, `NotReady` or `Unknown`, then `SchedulingDisabled` when cordoned), ROLES,
/// VERSION; wide: the first internal and external addresses, OS image, kernel, runtime.
fn node_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let ready = items(obj, "/status/conditions").iter().rfind(|c| text(c, "/type") == "Ready");
    let mut status = vec![match ready {
        Some(c) if text(c, "/status") == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if super::flag(obj, "/spec/unschedulable", false) {
        status.push("SchedulingDisabled");
    }
    let address = |kind: &str| {
        let found = items(obj, "/status/addresses").iter().find(|a| text(a, "/type") == kind);
        found.map_or_else(|| "<none>".to_string(), |a| text(a, "/address").to_string())
    };
    let info = |field: &str| match text(obj, &format!("/status/nodeInfo/{field}")) {
        "" => "<unknown>".to_string(),
        value => value.to_string(),
    };
    vec![
        name(obj),
        json!(status.join(",")),
        json!(or_none(&node_roles(obj).join(","))),
        age(obj, now),
        json!(text(obj, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(info("osImage")),
        json!(info("kernelVersion")),
        json!(info("containerRuntimeVersion")),
    ]
}

/// A node's roles, sorted: `<role>` of each `node-role.kubernetes.io/<role>` label, and the
/// value of `kubernetes.io/role`.
fn node_roles(obj: &Value) -> Vec<String> {
    let mut roles: Vec<String> = object(obj, "/metadata/labels")
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| match key.strip_prefix("node-role.kubernetes.io/") {
            Some(role) if !role.is_empty() => Some(role.to_string()),
            Some(_) => None,
            None if key == "kubernetes.io/role" => value.as_str().filter(|v| !v.is_empty()).map(str::to_string),
            None => None,
        })
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

pub(super) static PERSISTENT_VOLUMES: Printer = Printer::new(
    &[
        NAME,
        Column::string("Capacity", "The persistent volume's resources and capacity."),
        Column::string("Access Modes", "All ways the volume can be mounted."),
        Column::string("Reclaim Policy", "What happens to the volume when released from its claim."),
        Column::string("Status", "Phase indicates if a volume is available, bound to a claim, or released by a claim."),
        Column::string("Claim", "The claim bound to this volume."),
        Column::string("StorageClass", "StorageClass of the pv"),
        Column::string("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
        Column::string("Reason", "A brief CamelCase string that describes any failure."),
        AGE,
        Column::string(
            "VolumeMode",
            "Whether the volume is formatted with a filesystem or used as a raw block device.",
        )
        .wide(),
    ],
    |obj, now| {
        let claim = match object(obj, "/spec/claimRef") {
            Some(_) => format!("{}/{}", text(obj, "/spec/claimRef/namespace"), text(obj, "/spec/claimRef/name")),
            None => String::new(),
        };
        vec![
            name(obj),
            json!(quantity(obj, "/spec/capacity/storage")),
            json!(access_modes(items(obj, "/spec/accessModes"))),
            json!(match text(obj, "/spec/persistentVolumeReclaimPolicy") {
                "" => "Retain",
                policy => policy,
            }),
            json!(phase(obj)),
            json!(claim),
            json!(storage_class(obj).unwrap_or_else(|| text(obj, "/spec/storageClassName"))),
            json!(or_unset(obj, "/spec/volumeAttributesClassName")),
            json!(text(obj, "/status/reason")),
            age(obj, now),
            json!(volume_mode(obj)),
        ]
    },
);

pub(super) static PERSISTENT_VOLUME_CLAIMS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Status", "The current phase of the claim."),
        Column::string("Volume", "The binding reference to the persistent volume backing this claim."),
        Column::string("Capacity", "The actual resources of the underlying volume."),
        Column::string("Access Modes", "The access modes the volume backing the claim has."),
        Column::string("StorageClass", "StorageClass of the pvc"),
        Column::string("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        AGE,
        Column::string(
            "VolumeMode",
            "Whether the volume is formatted with a filesystem or used as a raw block device.",
        )
        .wide(),
    ],
    |obj, now| {
        let volume = text(obj, "/spec/volumeName");
        let (capacity, modes) = match volume {
            "" => (String::new(), String::new()),
            _ => (quantity(obj, "/status/capacity/storage"), access_modes(items(obj, "/status/accessModes"))),
        };
        vec![
            name(obj),
            json!(phase(obj)),
            json!(volume),
            json!(capacity),
            json!(modes),
            json!(storage_class(obj).unwrap_or_else(|| text(obj, "/spec/storageClassName"))),
            json!(or_unset(obj, "/spec/volumeAttributesClassName")),
            age(obj, now),
            json!(volume_mode(obj)),
        ]
    },
);

/// The phase (`Pending` by default), or `Terminating` while being deleted.
fn phase(obj: &Value) -> &str {
    match text(obj, "/status/phase") {
        _ if deleting(obj) => "Terminating",
        "" => "Pending",
        phase => phase,
    }
}

/// The volume mode (`Filesystem` by default).
fn volume_mode(obj: &Value) -> &str {
    match text(obj, "/spec/volumeMode") {
        "" => "Filesystem",
        mode => mode,
    }
}

/// The legacy storage-class annotation, which upstream prefers to `storageClassName`.
fn storage_class(obj: &Value) -> Option<&str> {
    object(obj, "/metadata/annotations")?.get("volume.beta.kubernetes.io/storage-class")?.as_str()
}

/// The string at `pointer`, or `<unset>` when absent.
fn or_unset<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    match obj.pointer(pointer).and_then(Value::as_str) {
        Some(value) => value,
        None => "<unset>",
    }
}

/// A quantity as stored, or `0` when absent.
fn quantity(obj: &Value, pointer: &str) -> String {
    match obj.pointer(pointer) {
        Some(Value::String(q)) => q.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".to_string(),
    }
}

/// Access modes abbreviated, in upstream's fixed order: `RWO,ROX,RWX,RWOP`.
pub(super) fn access_modes(modes: &[Value]) -> String {
    let has = |mode: &str| modes.iter().any(|m| m.as_str() == Some(mode));
    [("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP")]
        .into_iter()
        .filter(|(mode, _)| has(mode))
        .map(|(_, short)| short)
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) static REPLICATION_CONTROLLERS: Printer = Printer::new(
    &[
        NAME,
        Column::integer("Desired", "The number of desired replicas."),
        Column::integer("Current", "The most recently observed number of replicas."),
        Column::integer("Ready", "The number of ready replicas for this replication controller."),
        AGE,
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
    |obj, now| {
        let [names, images] = containers(obj.pointer("/spec/template/spec"));
        vec![
            name(obj),
            json!(int_or(obj, "/spec/replicas", 1)),
            json!(int(obj, "/status/replicas")),
            json!(int(obj, "/status/readyReplicas")),
            age(obj, now),
            names,
            images,
            json!(format_labels(object(obj, "/spec/selector"))),
        ]
    },
);

/// Pod templates have no AGE column upstream.
pub(super) static POD_TEMPLATES: Printer = Printer::new(
    &[
        NAME,
        Column::string("Containers", "Names of each container in the template."),
        Column::string("Images", "Images referenced by each container in the template."),
        Column::string("Pod Labels", "The labels for the pod template."),
    ],
    |obj, _| {
        let [names, images] = containers(obj.pointer("/template/spec"));
        vec![name(obj), names, images, json!(format_labels(object(obj, "/template/metadata/labels")))]
    },
);

pub(super) static RESOURCE_QUOTAS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
        Column::string(
            "Limit",
            "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
        ),
        AGE,
    ],
    |obj, now| {
        let hard = object(obj, "/status/hard");
        let mut resources: Vec<&String> = hard.into_iter().flat_map(|h| h.keys()).collect();
        resources.sort();
        let (mut requests, mut limits) = (Vec::new(), Vec::new());
        for resource in resources {
            let used = quantity(obj, &format!("/status/used/{}", escape(resource)));
            let hard = quantity(obj, &format!("/status/hard/{}", escape(resource)));
            let entry = format!("{resource}: {used}/{hard}");
            if resource.starts_with("limits.") {
                limits.push(entry);
            } else {
                requests.push(entry);
            }
        }
        vec![name(obj), json!(requests.join(", ")), json!(limits.join(", ")), age(obj, now)]
    },
);

/// A key as a JSON-pointer segment.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Component statuses have no AGE column upstream.
pub(super) static COMPONENT_STATUSES: Printer = Printer::new(
    &[
        NAME,
        Column::string("Status", "Status of the component conditions"),
        Column::string("Message", "Message of the component conditions"),
        Column::string("Error", "Error of the component conditions"),
    ],
    |obj, _| {
        let healthy = items(obj, "/conditions").iter().find(|c| text(c, "/type") == "Healthy");
        let status = match healthy {
            Some(c) if text(c, "/status") == "True" => "Healthy",
            Some(_) => "Unhealthy",
            None => "Unknown",
        };
        let field = |f: &str| healthy.map_or("", |c| text(c, f));
        vec![name(obj), json!(status), json!(field("/message")), json!(field("/error"))]
    },
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{ago, cells, headers};

    #[test]
    fn services_print_every_type() {
        assert_eq!(
            headers("", "services"),
            ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector*"]
        );
        let service = |spec: serde_json::Value, status: serde_json::Value| json!({"metadata": {"name": "web", "creationTimestamp": ago(10)}, "spec": spec, "status": status});
        let node_port = service(
            json!({"type": "NodePort", "clusterIP": "10.0.0.2", "clusterIPs": ["10.0.0.1", "fd00::1"], "selector": {"app": "web", "a": "b"},
                   "ports": [{"port": 80, "nodePort": 30080}, {"port": 53, "protocol": "UDP"}]}),
            json!({}),
        );
        assert_eq!(
            cells("", "services", node_port),
            json!(["web", "NodePort", "10.0.0.1", "<none>", "80:30080/TCP,53/UDP", "10s", "a=b,app=web"])
        );
        let headless = service(json!({"clusterIP": "None", "externalIPs": ["1.2.3.4"]}), json!({}));
        assert_eq!(
            cells("", "services", headless),
            json!(["web", "ClusterIP", "None", "1.2.3.4", "<none>", "10s", "<none>"])
        );
        let pending = service(json!({"type": "LoadBalancer", "clusterIPs": ["10.0.0.1"]}), json!({}));
        assert_eq!(cells("", "services", pending)[3], "<pending>");
        let balanced = service(
            json!({"type": "LoadBalancer", "externalIPs": ["9.9.9.9"]}),
            json!({"loadBalancer": {"ingress": [{"hostname": "lb.example"}, {"ip": "5.5.5.5"}, {"ip": "5.5.5.5"}]}}),
        );
        assert_eq!(cells("", "services", balanced)[3], "5.5.5.5,lb.example,9.9.9.9");
        let external = service(json!({"type": "ExternalName", "externalName": "db.example"}), json!({}));
        assert_eq!(cells("", "services", external)[3], "db.example");
    }

    #[test]
    fn nodes_not_ready_cordoned_with_roles() {
        assert_eq!(
            headers("", "nodes"),
            [
                "Name",
                "Status",
                "Roles",
                "Age",
                "Version",
                "Internal-IP*",
                "External-IP*",
                "OS-Image*",
                "Kernel-Version*",
                "Container-Runtime*"
            ]
        );
        let node = json!({
            "metadata": {"name": "n1", "creationTimestamp": ago(3 * 86_400), "labels": {
                "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/": "x", "kubernetes.io/role": "edge", "zone": "a"}},
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "False"}],
                "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "192.168.1.5"}],
                "nodeInfo": {"kubeletVersion": "v1.35.0", "osImage": "Debian GNU/Linux 13", "containerRuntimeVersion": "docker://28.0.0"},
            },
        });
        assert_eq!(
            cells("", "nodes", node),
            json!([
                "n1",
                "NotReady,SchedulingDisabled",
                "control-plane,edge",
                "3d",
                "v1.35.0",
                "192.168.1.5",
                "<none>",
                "Debian GNU/Linux 13",
                "<unknown>",
                "docker://28.0.0"
            ])
        );
        let fresh = json!({"metadata": {"name": "n2"}});
        assert_eq!(
            cells("", "nodes", fresh),
            json!([
                "n2",
                "Unknown",
                "<none>",
                "<unknown>",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ])
        );
        let ready =
            json!({"metadata": {"name": "n3"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(cells("", "nodes", ready)[1], "Ready");
    }

    #[test]
    fn core_events_with_and_without_series() {
        assert_eq!(
            headers("", "events"),
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject*",
                "Source*",
                "Message",
                "First Seen*",
                "Count*",
                "Name*"
            ]
        );
        let event = json!({
            "metadata": {"name": "web.1", "creationTimestamp": ago(700)},
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
            "type": "Warning",
            "reason": "BackOff",
            "message": "  Back-off restarting failed container\n",
            "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": ago(600),
            "lastTimestamp": ago(30),
            "count": 7,
        });
        assert_eq!(
            cells("", "events", event),
            json!([
                "30s",
                "Warning",
                "BackOff",
                "pod/web",
                "spec.containers{app}",
                "kubelet, n1",
                "Back-off restarting failed container",
                "10m",
                7,
                "web.1"
            ])
        );
        let new_style = json!({
            "metadata": {"name": "ns.2"},
            "involvedObject": {"kind": "Namespace"},
            "type": "Normal",
            "reason": "Created",
            "eventTime": "2026-11-23T11:55:00.000000Z",
            "reportingComponent": "controller",
            "reportingInstance": "cm-1",
        });
        assert_eq!(
            cells("", "events", new_style),
            json!(["5m", "Normal", "Created", "namespace", "", "controller, cm-1", "", "5m", 1, "ns.2"])
        );
        let series = json!({
            "metadata": {"name": "s"},
            "involvedObject": {"kind": "Node", "name": "n1"},
            "firstTimestamp": ago(4000),
            "count": 2,
            "source": {"component": "kubelet"},
            "series": {"count": 12, "lastObservedTime": ago(20)},
        });
        let row = cells("", "events", series);
        assert_eq!((&row[0], &row[5], &row[7], &row[8]), (&json!("20s"), &json!("kubelet"), &json!("66m"), &json!(12)));
    }

    #[test]
    fn endpoints_show_three_then_more() {
        let endpoints = json!({"metadata": {"name": "web"}, "subsets": [
            {"addresses": [{"ip": "10.0.0.1"}, {"ip": "fd00::2"}], "ports": [{"port": 80}, {"port": 443}]},
            {"addresses": [{"ip": "10.0.0.3"}]},
        ]});
        assert_eq!(cells("", "endpoints", endpoints)[1], "10.0.0.1:80,[fd00::2]:80,10.0.0.1:443 + 2 more...");
        assert_eq!(cells("", "endpoints", json!({}))[1], "<none>");
        let headless = json!({"subsets": [{"addresses": [{"ip": "10.0.0.3"}]}]});
        assert_eq!(cells("", "endpoints", headless)[1], "10.0.0.3");
    }

    #[test]
    fn volumes_and_claims() {
        assert_eq!(
            headers("", "persistentvolumes"),
            [
                "Name",
                "Capacity",
                "Access Modes",
                "Reclaim Policy",
                "Status",
                "Claim",
                "StorageClass",
                "VolumeAttributesClass",
                "Reason",
                "Age",
                "VolumeMode*"
            ]
        );
        let pv = json!({
            "metadata": {"name": "pv1", "creationTimestamp": ago(60)},
            "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"], "storageClassName": "fast",
                     "claimRef": {"namespace": "default", "name": "data"}, "volumeMode": "Filesystem"},
            "status": {"phase": "Bound"},
        });
        assert_eq!(
            cells("", "persistentvolumes", pv),
            json!([
                "pv1",
                "5Gi",
                "RWO,RWX",
                "Retain",
                "Bound",
                "default/data",
                "fast",
                "<unset>",
                "",
                "60s",
                "Filesystem"
            ])
        );
        let pending = json!({"metadata": {"name": "data", "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
            "spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}, "status": {"phase": "Pending"}});
        assert_eq!(
            cells("", "persistentvolumeclaims", pending),
            json!(["data", "Pending", "", "", "", "old", "<unset>", "<unknown>", "Filesystem"])
        );
        let bound = json!({"metadata": {"name": "data", "deletionTimestamp": ago(1)},
            "spec": {"volumeName": "pv1", "storageClassName": "fast"},
            "status": {"phase": "Bound", "capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOncePod"]}});
        assert_eq!(
            cells("", "persistentvolumeclaims", bound),
            json!(["data", "Terminating", "pv1", "5Gi", "RWOP", "fast", "<unset>", "<unknown>", "Filesystem"])
        );
    }

    #[test]
    fn replication_controllers_templates_quotas_and_the_rest() {
        let rc = json!({"metadata": {"name": "rc"}, "spec": {"selector": {"app": "web"}, "template": {"spec": {"containers": [
            {"name": "a", "image": "nginx"}, {"name": "b", "image": "busybox"}]}}}, "status": {"replicas": 2, "readyReplicas": 1}});
        assert_eq!(
            cells("", "replicationcontrollers", rc),
            json!(["rc", 1, 2, 1, "<unknown>", "a,b", "nginx,busybox", "app=web"])
        );
        assert_eq!(headers("", "podtemplates"), ["Name", "Containers", "Images", "Pod Labels"]);
        let template = json!({"metadata": {"name": "t"}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "nginx"}]}}});
        assert_eq!(cells("", "podtemplates", template), json!(["t", "a", "nginx", "app=web"]));
        let quota = json!({"metadata": {"name": "q"}, "status": {
            "hard": {"pods": "10", "limits.memory": "2Gi", "requests.cpu": "1", "limits.cpu": "2"},
            "used": {"pods": "3", "requests.cpu": "500m"}}});
        assert_eq!(
            cells("", "resourcequotas", quota),
            json!(["q", "pods: 3/10, requests.cpu: 500m/1", "limits.cpu: 0/2, limits.memory: 0/2Gi", "<unknown>"])
        );
        assert_eq!(headers("", "serviceaccounts"), ["Name", "Age"]);
        let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "eA=="}});
        assert_eq!(cells("", "secrets", secret), json!(["s", "Opaque", 1, "<unknown>"]));
        let cs = json!({"metadata": {"name": "etcd-0"}, "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]});
        assert_eq!(cells("", "componentstatuses", cs), json!(["etcd-0", "Healthy", "ok", ""]));
        let ns = json!({"metadata": {"name": "ns"}, "status": {"phase": "Terminating"}});
        assert_eq!(cells("", "namespaces", ns), json!(["ns", "Terminating", "<unknown>"]));
    }
}
