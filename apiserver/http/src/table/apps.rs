//! `apps`: deployments, replica sets, stateful sets, daemon sets, controller revisions.

use serde_json::{Value, json};

use super::{
    AGE, CONTAINERS, Column, IMAGES, NAME, Printer, SELECTOR, age, containers, format_label_selector, format_labels,
    int, int_or, label_selector, name, object, text,
};

pub(super) static DEPLOYMENTS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Ready", "Number of the pod with ready state"),
        Column::string(
            "Up-to-date",
            "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        ),
        Column::string(
            "Available",
            "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        ),
        AGE,
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
    |obj, now| {
        let [names, images] = containers(obj.pointer("/spec/template/spec"));
        vec![
            name(obj),
            json!(format!("{}/{}", int(obj, "/status/readyReplicas"), int_or(obj, "/spec/replicas", 1))),
            json!(int(obj, "/status/updatedReplicas")),
            json!(int(obj, "/status/availableReplicas")),
            age(obj, now),
            names,
            images,
            // Deployments print their selector as is: "" rather than `<none>` when empty.
            json!(label_selector(obj.pointer("/spec/selector")).unwrap_or_else(|| "<invalid>".to_string())),
        ]
    },
);

pub(super) static REPLICA_SETS: Printer = Printer::new(
    &[
        NAME,
        Column::integer("Desired", "Replicas is the number of desired replicas."),
        Column::integer("Current", "Replicas is the most recently observed number of replicas."),
        Column::integer("Ready", "The number of ready replicas for this replica set."),
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
            json!(format_label_selector(obj.pointer("/spec/selector"))),
        ]
    },
);

pub(super) static STATEFUL_SETS: Printer = Printer::new(
    &[NAME, Column::string("Ready", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES],
    |obj, now| {
        let [names, images] = containers(obj.pointer("/spec/template/spec"));
        vec![
            name(obj),
            json!(format!("{}/{}", int(obj, "/status/readyReplicas"), int_or(obj, "/spec/replicas", 1))),
            age(obj, now),
            names,
            images,
        ]
    },
);

pub(super) static DAEMON_SETS: Printer = Printer::new(
    &[
        NAME,
        Column::integer("Desired", "The total number of nodes that should be running the daemon pod."),
        Column::integer(
            "Current",
            "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
        ),
        Column::integer(
            "Ready",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
        ),
        Column::integer("Up-to-date", "The total number of nodes that are running updated daemon pod."),
        Column::integer(
            "Available",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
        ),
        Column::string("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node."),
        AGE,
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
    |obj, now| {
        let [names, images] = containers(obj.pointer("/spec/template/spec"));
        vec![
            name(obj),
            json!(int(obj, "/status/desiredNumberScheduled")),
            json!(int(obj, "/status/currentNumberScheduled")),
            json!(int(obj, "/status/numberReady")),
            json!(int(obj, "/status/updatedNumberScheduled")),
            json!(int(obj, "/status/numberAvailable")),
            json!(format_labels(object(obj, "/spec/template/spec/nodeSelector"))),
            age(obj, now),
            names,
            images,
            json!(format_label_selector(obj.pointer("/spec/selector"))),
        ]
    },
);

pub(super) static CONTROLLER_REVISIONS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Controller", "Controller of the object"),
        Column::string("Revision", "Revision indicates the revision of the state represented by Data."),
        AGE,
    ],
    |obj, now| vec![name(obj), json!(controller(obj)), json!(int(obj, "/revision")), age(obj, now)],
);

/// The controlling owner as `kind.group/name` (kind lower-cased, `.group` only outside core),
/// or `<none>`.
fn controller(obj: &Value) -> String {
    let owners = obj.pointer("/metadata/ownerReferences").and_then(Value::as_array);
    let Some(owner) = owners.into_iter().flatten().find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
    else {
        return "<none>".to_string();
    };
    let group = text(owner, "/apiVersion").rsplit_once('/').map_or("", |(group, _)| group);
    let kind = text(owner, "/kind");
    let name = text(owner, "/name");
    match (kind, group) {
        ("", "") => name.to_string(),
        (kind, "") => format!("{}/{name}", kind.to_lowercase()),
        (kind, group) => format!("{}.{}/{name}", kind.to_lowercase(), group.to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{ago, cells, headers};

    #[test]
    fn deployment_mid_rollout() {
        assert_eq!(
            headers("apps", "deployments"),
            ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers*", "Images*", "Selector*"]
        );
        let deployment = json!({
            "metadata": {"name": "web", "creationTimestamp": ago(4 * 3600 + 720)},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}},
            },
            "status": {"replicas": 4, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2},
        });
        assert_eq!(
            cells("apps", "deployments", deployment),
            json!(["web", "2/3", 1, 2, "4h12m", "nginx,log", "nginx:1.27,busybox", "app=web"])
        );
        let created = json!({"metadata": {"name": "new"}, "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "b"}]}}}});
        assert_eq!(cells("apps", "deployments", created), json!(["new", "0/1", 0, 0, "<unknown>", "a", "b", ""]));
    }

    #[test]
    fn replica_sets_stateful_sets_and_daemon_sets() {
        assert_eq!(
            headers("apps", "replicasets"),
            ["Name", "Desired", "Current", "Ready", "Age", "Containers*", "Images*", "Selector*"]
        );
        let rs = json!({"metadata": {"name": "web-1"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "1"}},
            "template": {"spec": {"containers": [{"name": "a", "image": "b"}]}}}, "status": {"replicas": 2, "readyReplicas": 1}});
        assert_eq!(
            cells("apps", "replicasets", rs),
            json!(["web-1", 2, 2, 1, "<unknown>", "a", "b", "app=web,pod-template-hash=1"])
        );
        assert_eq!(headers("apps", "statefulsets"), ["Name", "Ready", "Age", "Containers*", "Images*"]);
        let sts = json!({"metadata": {"name": "db"}, "spec": {"replicas": 3}, "status": {"readyReplicas": 3}});
        assert_eq!(cells("apps", "statefulsets", sts), json!(["db", "3/3", "<unknown>", "", ""]));
        assert_eq!(
            headers("apps", "daemonsets"),
            [
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Up-to-date",
                "Available",
                "Node Selector",
                "Age",
                "Containers*",
                "Images*",
                "Selector*"
            ]
        );
        let ds = json!({"metadata": {"name": "proxy"},
            "spec": {"selector": {"matchLabels": {"app": "proxy"}}, "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [{"name": "p", "image": "kube-proxy"}]}}},
            "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2, "updatedNumberScheduled": 3, "numberAvailable": 2}});
        assert_eq!(
            cells("apps", "daemonsets", ds),
            json!(["proxy", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "<unknown>", "p", "kube-proxy", "app=proxy"])
        );
    }

    #[test]
    fn controller_revisions_name_their_controller() {
        let revision = |owners: serde_json::Value| json!({"metadata": {"name": "web-7c9", "ownerReferences": owners}, "revision": 2});
        let owned = revision(json!([
            {"apiVersion": "v1", "kind": "Pod", "name": "other"},
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true},
        ]));
        assert_eq!(
            cells("apps", "controllerrevisions", owned),
            json!(["web-7c9", "statefulset.apps/web", 2, "<unknown>"])
        );
        let core =
            revision(json!([{"apiVersion": "v1", "kind": "ReplicationController", "name": "rc", "controller": true}]));
        assert_eq!(cells("apps", "controllerrevisions", core)[1], "replicationcontroller/rc");
        assert_eq!(cells("apps", "controllerrevisions", revision(json!([])))[1], "<none>");
    }
}
