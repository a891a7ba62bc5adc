//! `rbac.authorization.k8s.io`: role bindings and cluster role bindings (roles and cluster
//! roles have no printer upstream: they get the generic NAME, CREATED AT).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{AGE, Column, NAME, Printer, age, items, name, text};

pub(super) static ROLE_BINDINGS: Printer = Printer::new(
    &[
        NAME,
        Column::string(
            "Role",
            "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
        ),
        AGE,
        Column::string("Users", "Users in the roleBinding").wide(),
        Column::string("Groups", "Groups in the roleBinding").wide(),
        Column::string("ServiceAccounts", "ServiceAccounts in the roleBinding").wide(),
    ],
    binding_cells,
);

pub(super) static CLUSTER_ROLE_BINDINGS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Role", "RoleRef can only reference a ClusterRole in the global namespace."),
        AGE,
        Column::string("Users", "Users in the clusterRoleBinding").wide(),
        Column::string("Groups", "Groups in the clusterRoleBinding").wide(),
        Column::string("ServiceAccounts", "ServiceAccounts in the clusterRoleBinding").wide(),
    ],
    binding_cells,
);

/// ROLE (`Kind/name`), AGE; wide: the users, groups and service accounts (`namespace/name`)
/// among the subjects, each list joined with ", ".
fn binding_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let subjects = items(obj, "/subjects");
    let of_kind = |kind: &str| {
        let names: Vec<String> = subjects
            .iter()
            .filter(|s| text(s, "/kind") == kind)
            .map(|s| match kind {
                "ServiceAccount" => format!("{}/{}", text(s, "/namespace"), text(s, "/name")),
                _ => text(s, "/name").to_string(),
            })
            .collect();
        json!(names.join(", "))
    };
    vec![
        name(obj),
        json!(format!("{}/{}", text(obj, "/roleRef/kind"), text(obj, "/roleRef/name"))),
        age(obj, now),
        of_kind("User"),
        of_kind("Group"),
        of_kind("ServiceAccount"),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{ago, cells, headers};

    #[test]
    fn bindings_list_their_subjects_by_kind() {
        let group = "rbac.authorization.k8s.io";
        assert_eq!(headers(group, "rolebindings"), ["Name", "Role", "Age", "Users*", "Groups*", "ServiceAccounts*"]);
        assert_eq!(headers(group, "clusterrolebindings"), headers(group, "rolebindings"));
        let binding = json!({
            "metadata": {"name": "read-pods", "creationTimestamp": ago(42)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [
                {"kind": "User", "name": "jane"},
                {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"},
                {"kind": "Group", "name": "devs"},
                {"kind": "User", "name": "joe"},
            ],
        });
        assert_eq!(
            cells(group, "rolebindings", binding),
            json!(["read-pods", "Role/pod-reader", "42s", "jane, joe", "devs", "ci/builder"])
        );
        let empty = json!({"metadata": {"name": "admin"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}});
        assert_eq!(
            cells(group, "clusterrolebindings", empty),
            json!(["admin", "ClusterRole/cluster-admin", "<unknown>", "", "", ""])
        );
    }
}
