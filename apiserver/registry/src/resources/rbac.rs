//! Upstream's validation of RBAC objects (`pkg/apis/rbac/validation`) and the defaults it
//! relies on (`pkg/apis/rbac/v1/defaults.go`): rules with verbs and either resources (with API
//! groups) or, in cluster roles only, non-resource URLs; aggregation selectors; bindings to a
//! Role or ClusterRole of `rbac.authorization.k8s.io` (a ClusterRoleBinding to a ClusterRole),
//! with a role reference that never changes and User, Group or ServiceAccount subjects.

use apiserver_machinery::field::{FieldError, FieldErrors, FieldValue, Path};
use serde_json::{Value, json};

use super::checks::selectors::label_selector;
use super::checks::{self, items, text};
use super::plain::path_segment_problems;
use crate::object::Object;

const GROUP: &str = "rbac.authorization.k8s.io";

/// `ValidatePolicyRule` of every rule; non-resource URLs only when cluster-wide.
fn rules(errors: &mut FieldErrors, obj: &Object, namespaced: bool) {
    let path = Path::new("rules");
    for (i, rule) in obj.get("rules").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let at = path.index(i);
        if !checks::has_entries(rule, "verbs") {
            errors.push(FieldError::required(at.child("verbs"), "verbs must contain at least one value"));
        }
        if checks::has_entries(rule, "nonResourceURLs") {
            let urls = FieldValue::raw(rule["nonResourceURLs"].to_string());
            if namespaced {
                errors.push(FieldError::invalid(
                    at.child("nonResourceURLs"),
                    urls.clone(),
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if ["apiGroups", "resources", "resourceNames"].iter().any(|key| checks::has_entries(rule, key)) {
                errors.push(FieldError::invalid(
                    at.child("nonResourceURLs"),
                    urls,
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if !checks::has_entries(rule, "apiGroups") {
            errors
                .push(FieldError::required(at.child("apiGroups"), "resource rules must supply at least one api group"));
        }
        if !checks::has_entries(rule, "resources") {
            errors
                .push(FieldError::required(at.child("resources"), "resource rules must supply at least one resource"));
        }
    }
}

/// rbac/v1 Role (create and update alike).
pub fn validate_role(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    rules(&mut errors, obj, true);
    errors
}

/// Role update rules are the create rules.
pub fn validate_role_update(new: &Object, _old: &Object) -> FieldErrors {
    validate_role(new)
}

/// rbac/v1 ClusterRole (create and update alike).
pub fn validate_cluster_role(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    rules(&mut errors, obj, false);
    if let Some(aggregation) = obj.get("aggregationRule").filter(|a| !a.is_null()) {
        let path = Path::new("aggregationRule").child("clusterRoleSelectors");
        let selectors = items(aggregation, "clusterRoleSelectors");
        if selectors.is_empty() {
            errors.push(FieldError::required(
                &path,
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        for (i, selector) in selectors.iter().enumerate() {
            label_selector(&mut errors, &path.index(i), Some(selector));
        }
    }
    errors
}

/// ClusterRole update rules are the create rules.
pub fn validate_cluster_role_update(new: &Object, _old: &Object) -> FieldErrors {
    validate_cluster_role(new)
}

/// `SetDefaults_RoleBinding`, `SetDefaults_ClusterRoleBinding` and `SetDefaults_Subject`: the
/// role reference's group, and a User's or Group's subject group, are RBAC's.
pub fn default_binding(obj: &mut Object) {
    if let Some(role_ref) = obj.get_mut("roleRef").and_then(Value::as_object_mut)
        && role_ref.get("apiGroup").and_then(Value::as_str).unwrap_or_default().is_empty()
    {
        role_ref.insert("apiGroup".into(), json!(GROUP));
    }
    for subject in obj.get_mut("subjects").and_then(Value::as_array_mut).into_iter().flatten() {
        let Some(subject) = subject.as_object_mut() else { continue };
        let kind = subject.get("kind").and_then(Value::as_str).unwrap_or_default();
        if matches!(kind, "User" | "Group")
            && subject.get("apiGroup").and_then(Value::as_str).unwrap_or_default().is_empty()
        {
            subject.insert("apiGroup".into(), json!(GROUP));
        }
    }
}

/// The role reference and subjects of a binding; `kinds` are the role kinds it may bind.
fn binding(errors: &mut FieldErrors, obj: &Object, kinds: &[&str], namespaced: bool) {
    let role_ref = obj.get("roleRef").unwrap_or(&Value::Null);
    let path = Path::new("roleRef");
    checks::one_of(errors, &path.child("apiGroup"), text(role_ref, "apiGroup"), &[GROUP]);
    checks::one_of(errors, &path.child("kind"), text(role_ref, "kind"), kinds);
    match text(role_ref, "name") {
        "" => errors.push(FieldError::required(path.child("name"), "")),
        // Role names are path segments (`ValidateRBACName`).
        name => checks::invalid_each(errors, &path.child("name"), name, path_segment_problems(name)),
    }
    let subjects = Path::new("subjects");
    for (i, subject) in obj.get("subjects").and_then(Value::as_array).into_iter().flatten().enumerate() {
        subject_rules(errors, &subjects.index(i), subject, namespaced);
    }
}

/// `ValidateRoleBindingSubject`.
fn subject_rules(errors: &mut FieldErrors, path: &Path, subject: &Value, namespaced: bool) {
    let name = text(subject, "name");
    if name.is_empty() {
        errors.push(FieldError::required(path.child("name"), ""));
    }
    let group = text(subject, "apiGroup");
    match text(subject, "kind") {
        "ServiceAccount" => {
            if !name.is_empty() {
                checks::dns1123_subdomain(errors, &path.child("name"), name);
            }
            if !group.is_empty() {
                errors.push(FieldError::not_supported(path.child("apiGroup"), group, &[""]));
            }
            if !namespaced && text(subject, "namespace").is_empty() {
                errors.push(FieldError::required(path.child("namespace"), ""));
            }
        }
        "User" | "Group" => checks::one_of(errors, &path.child("apiGroup"), group, &[GROUP]),
        other => checks::one_of(errors, &path.child("kind"), other, &["ServiceAccount", "User", "Group"]),
    }
}

/// rbac/v1 RoleBinding, on create.
pub fn validate_role_binding(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    binding(&mut errors, obj, &["Role", "ClusterRole"], true);
    errors
}

/// rbac/v1 ClusterRoleBinding, on create.
pub fn validate_cluster_role_binding(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    binding(&mut errors, obj, &["ClusterRole"], false);
    errors
}

/// A binding's role reference never changes (delete and recreate the binding instead).
fn unchanged_role_ref(errors: &mut FieldErrors, new: &Object, old: &Object) {
    let role_ref = |obj: &Object| {
        let role_ref = obj.get("roleRef").unwrap_or(&Value::Null);
        ["apiGroup", "kind", "name"].map(|key| text(role_ref, key).to_string())
    };
    let [group, kind, name] = role_ref(new);
    if [&group, &kind, &name] != role_ref(old).each_ref() {
        // Upstream prints the Go struct.
        let shown = FieldValue::raw(format!("rbac.RoleRef{{APIGroup:{group:?}, Kind:{kind:?}, Name:{name:?}}}"));
        errors.push(FieldError::invalid("roleRef", shown, "cannot change roleRef"));
    }
}

/// rbac/v1 RoleBinding, on update.
pub fn validate_role_binding_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_role_binding(new);
    unchanged_role_ref(&mut errors, new, old);
    errors
}

/// rbac/v1 ClusterRoleBinding, on update.
pub fn validate_cluster_role_binding_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_cluster_role_binding(new);
    unchanged_role_ref(&mut errors, new, old);
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::checks::testing::messages;

    fn object(value: Value) -> Object {
        let Value::Object(mut obj) = value else { panic!("an object") };
        default_binding(&mut obj);
        obj
    }

    #[test]
    fn realistic_roles_pass() {
        let role = object(json!({"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
                                           {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"], "verbs": ["*"]}]}));
        assert!(validate_role(&role).is_empty());
        let cluster_role = object(json!({"rules": [{"nonResourceURLs": ["/healthz", "/metrics"], "verbs": ["get"]}],
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-view": "true"}}]}}));
        assert!(validate_cluster_role(&cluster_role).is_empty());
    }

    #[test]
    fn bad_rules() {
        let role = object(
            json!({"rules": [{"resources": ["pods"]}, {"nonResourceURLs": ["/x"], "apiGroups": [""], "verbs": ["get"]}]}),
        );
        assert_eq!(
            messages(&validate_role(&role)),
            [
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[1].nonResourceURLs: Invalid value: [\"/x\"]: namespaced rules cannot apply to non-resource URLs",
                "rules[1].nonResourceURLs: Invalid value: [\"/x\"]: rules cannot apply to both regular resources and non-resource URLs",
            ]
        );
        let empty_aggregation = object(json!({"aggregationRule": {}}));
        assert_eq!(
            messages(&validate_cluster_role(&empty_aggregation)),
            [
                "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil"
            ]
        );
    }

    #[test]
    fn bindings_default_and_pass() {
        let binding = object(json!({"roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "jane"}, {"kind": "Group", "name": "devs"},
                         {"kind": "ServiceAccount", "name": "default", "namespace": "ci"}]}));
        assert_eq!(binding["roleRef"]["apiGroup"], GROUP);
        assert_eq!(binding["subjects"][0]["apiGroup"], GROUP);
        assert!(binding["subjects"][2].get("apiGroup").is_none());
        assert!(validate_role_binding(&binding).is_empty());
        assert!(validate_cluster_role_binding(&binding).is_empty());
    }

    #[test]
    fn bad_bindings() {
        let binding = object(json!({"roleRef": {"apiGroup": "example.com", "kind": "Role", "name": ""},
            "subjects": [{"kind": "Robot", "name": "r2"}, {"kind": "ServiceAccount", "name": "Bad_Name", "apiGroup": "x"},
                         {"kind": "User", "name": "u", "apiGroup": "other"}]}));
        let found = messages(&validate_cluster_role_binding(&binding));
        assert_eq!(
            found[..4],
            [
                "roleRef.apiGroup: Unsupported value: \"example.com\": supported values: \"rbac.authorization.k8s.io\"",
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "roleRef.name: Required value",
                "subjects[0].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\"",
            ]
        );
        assert!(found[4].starts_with("subjects[1].name: Invalid value: \"Bad_Name\""));
        assert_eq!(found[5], "subjects[1].apiGroup: Unsupported value: \"x\": supported values: \"\"");
        assert_eq!(found[6], "subjects[1].namespace: Required value");
        assert_eq!(
            found[7],
            "subjects[2].apiGroup: Unsupported value: \"other\": supported values: \"rbac.authorization.k8s.io\""
        );
        assert_eq!(found.len(), 8);
    }

    #[test]
    fn the_role_ref_never_changes() {
        let old = object(
            json!({"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User", "name": "a"}]}),
        );
        let mut more = old.clone();
        more["subjects"] = json!([{"kind": "User", "name": "a"}, {"kind": "User", "name": "b"}]);
        let more = object(Value::Object(more));
        assert!(validate_role_binding_update(&more, &old).is_empty());
        let mut edit = old.clone();
        edit["roleRef"]["name"] = json!("edit");
        assert_eq!(
            messages(&validate_role_binding_update(&edit, &old)),
            [
                "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"ClusterRole\", Name:\"edit\"}: cannot change roleRef"
            ]
        );
    }
}
