//! Where objects live in the store: `/registry/<group>/<plural>/[<namespace>/]<name>`, the
//! core group spelled `core`. One function, so the registry and the admission checks that read
//! other resources' objects agree.

/// The prefix of every object of a resource (in a namespace).
pub fn prefix(group: &str, plural: &str, namespace: Option<&str>) -> String {
    let group = if group.is_empty() { "core" } else { group };
    match namespace {
        Some(ns) => format!("/registry/{group}/{plural}/{ns}/"),
        None => format!("/registry/{group}/{plural}/"),
    }
}

/// The key of one object.
pub fn object(group: &str, plural: &str, namespace: Option<&str>, name: &str) -> String {
    format!("{}{name}", prefix(group, plural, namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_objects_live_under_core() {
        assert_eq!(object("", "namespaces", None, "default"), "/registry/core/namespaces/default");
        assert_eq!(prefix("apps", "deployments", Some("ns")), "/registry/apps/deployments/ns/");
    }
}
