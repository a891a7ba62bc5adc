//! ControllerRevisions: the template history of StatefulSets and DaemonSets (upstream's
//! `controller/history` package), which `kubectl rollout history/undo` read.
//!
//! A revision's `data` is the patch that restores the owner's pod template
//! (`{"spec":{"template":{...,"$patch":"replace"}}}`, keys sorted as Go's encoder does), its
//! name is `<owner>-<hash>` where the hash is FNV-1 32 of that data (plus the collision count,
//! when there is one) spelled with upstream's "safe" alphabet, and its `revision` number grows
//! by one for every new template. Rolling back to an older template reuses that revision and
//! gives it the next number, so the newest revision is always the current template.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Client, Resource, ResourceExt};
use serde_json::{Map, Value, json};

use crate::Error;
use crate::owners;

/// The label naming the revision a pod (and a revision) was made from.
pub const CONTROLLER_REVISION_HASH_LABEL: &str = "controller-revision-hash";

/// Upstream's `rand.SafeEncodeString` alphabet: no vowels, no look-alike characters.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-1 (not 1a) 32-bit, as Go's `hash/fnv.New32`.
pub fn fnv1_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| hash.wrapping_mul(0x0100_0193) ^ u32::from(*byte))
}

/// Each character replaced by the safe alphabet's character at `byte % 27`.
pub fn safe_encode(text: &str) -> String {
    text.bytes().map(|b| SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()] as char).collect()
}

/// The object with its map keys sorted at every level (Go's `encoding/json` map order), so the
/// same template always gives the same bytes and hash.
pub fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, canonical(v))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// The revision data restoring `template` (upstream's `getPatch` of StatefulSets/DaemonSets).
pub fn template_patch(template: &PodTemplateSpec) -> Value {
    let mut template = serde_json::to_value(template).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut template {
        map.insert("$patch".to_string(), Value::String("replace".to_string()));
    }
    canonical(json!({ "spec": { "template": template } }))
}

/// The hash naming a revision with `data` (upstream's `HashControllerRevision`).
pub fn hash_data(data: &Value, collision_count: Option<i32>) -> String {
    let mut bytes = serde_json::to_vec(data).unwrap_or_default();
    if let Some(count) = collision_count {
        bytes.extend_from_slice(count.to_string().as_bytes());
    }
    safe_encode(&fnv1_32(&bytes).to_string())
}

/// `<owner>-<hash>`, the owner part cut so the name stays a valid object name.
pub fn revision_name(owner: &str, hash: &str) -> String {
    let owner: String = owner.chars().take(223).collect();
    format!("{owner}-{hash}")
}

/// The hash part of a revision's name (what pods carry in `controller-revision-hash`).
pub fn hash_of(revision: &ControllerRevision) -> String {
    revision
        .labels()
        .get(CONTROLLER_REVISION_HASH_LABEL)
        .cloned()
        .unwrap_or_else(|| revision.name_any().rsplit('-').next().unwrap_or_default().to_string())
}

/// The pod template a revision restores.
pub fn template_of(revision: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut template = revision.data.as_ref()?.0.get("spec")?.get("template")?.clone();
    if let Value::Object(map) = &mut template {
        map.remove("$patch");
    }
    serde_json::from_value(template).ok()
}

/// Whether two revisions restore the same template.
pub fn same_data(revision: &ControllerRevision, data: &Value) -> bool {
    revision.data.as_ref().is_some_and(|d| canonical(d.0.clone()) == *data)
}

/// Revisions controlled by the owner with `uid` in `namespace`, oldest first.
pub fn owned_revisions(cache: &Store<ControllerRevision>, namespace: &str, uid: &str) -> Vec<Arc<ControllerRevision>> {
    let mut owned: Vec<Arc<ControllerRevision>> = cache
        .state()
        .into_iter()
        .filter(|r| r.metadata.namespace.as_deref() == Some(namespace) && owners::is_controlled_by(&r.metadata, uid))
        .collect();
    sort_revisions(&mut owned);
    owned
}

/// Oldest first: by revision number, then creation time, then name (upstream's `ByRevision`).
pub fn sort_revisions(revisions: &mut [Arc<ControllerRevision>]) {
    revisions.sort_by(|a, b| {
        a.revision
            .cmp(&b.revision)
            .then_with(|| {
                a.metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| t.0)
                    .cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0))
            })
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
}

/// The number the next revision gets: one more than the highest.
pub fn next_revision_number(revisions: &[Arc<ControllerRevision>]) -> i64 {
    revisions.iter().map(|r| r.revision).max().unwrap_or(0) + 1
}

/// What to do to have a revision for the current template.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateRevision {
    /// The newest revision already holds the template.
    Current(String),
    /// An older revision holds it (a rollback): give it the next number.
    Renumber { name: String, revision: i64 },
    /// No revision holds it: create one.
    Create,
}

/// Decides [`UpdateRevision`] from the owner's revisions (oldest first) and the template's data.
pub fn find_update_revision(revisions: &[Arc<ControllerRevision>], data: &Value) -> UpdateRevision {
    let Some(equal) = revisions.iter().rev().find(|r| same_data(r, data)) else {
        return UpdateRevision::Create;
    };
    let newest = revisions.iter().map(|r| r.revision).max().unwrap_or(0);
    if equal.revision == newest {
        UpdateRevision::Current(equal.name_any())
    } else {
        UpdateRevision::Renumber { name: equal.name_any(), revision: newest + 1 }
    }
}

/// Names of revisions to delete so at most `limit` revisions that no pod uses remain, oldest
/// first (upstream's `truncateHistory`); `live` revisions are never deleted.
pub fn revisions_to_prune(revisions: &[Arc<ControllerRevision>], live: &HashSet<String>, limit: i32) -> Vec<String> {
    let unused: Vec<String> = revisions.iter().map(|r| r.name_any()).filter(|name| !live.contains(name)).collect();
    let limit = usize::try_from(limit.max(0)).unwrap_or(0);
    let excess = unused.len().saturating_sub(limit);
    unused.into_iter().take(excess).collect()
}

/// A new revision of `owner` with `data`.
pub fn new_revision<K: Resource<DynamicType = ()>>(
    owner: &K,
    template_labels: Option<&std::collections::BTreeMap<String, String>>,
    data: Value,
    revision: i64,
    collision_count: i32,
) -> ControllerRevision {
    let hash = hash_data(&data, (collision_count != 0).then_some(collision_count));
    let mut labels = template_labels.cloned().unwrap_or_default();
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), hash.clone());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(revision_name(&owner.name_any(), &hash)),
            namespace: owner.namespace(),
            labels: Some(labels),
            // As upstream: `kubectl rollout history` shows the owner's change-cause from here.
            annotations: owner.meta().annotations.clone(),
            owner_references: Some(vec![owners::controller_ref(owner)]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

/// The revision holding `template` for `owner`, created or renumbered if needed, and the
/// collision count to record in the owner's status (it grows when a name is taken by a revision
/// with other data, which changes the hash).
pub async fn ensure_update_revision<K: Resource<DynamicType = ()>>(
    client: &Client,
    owner: &K,
    revisions: &[Arc<ControllerRevision>],
    template: &PodTemplateSpec,
    mut collision_count: i32,
) -> Result<(ControllerRevision, i32), Error> {
    let namespace = owner.namespace().unwrap_or_default();
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), &namespace);
    let data = template_patch(template);
    match find_update_revision(revisions, &data) {
        UpdateRevision::Current(name) => {
            let found = revisions.iter().find(|r| r.name_any() == name).map(|r| (**r).clone());
            return found
                .map(|r| (r, collision_count))
                .ok_or_else(|| Error::Invalid(format!("revision {name} vanished")));
        }
        UpdateRevision::Renumber { name, revision } => {
            let patch = json!({ "revision": revision });
            let renumbered = api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
            return Ok((renumbered, collision_count));
        }
        UpdateRevision::Create => {}
    }
    let number = next_revision_number(revisions);
    // Bounded: each round changes the hash; a real collision needs two templates hashing alike.
    for _ in 0..16 {
        let revision = new_revision(
            owner,
            template.metadata.as_ref().and_then(|m| m.labels.as_ref()),
            data.clone(),
            number,
            collision_count,
        );
        match api.create(&PostParams::default(), &revision).await {
            Ok(created) => return Ok((created, collision_count)),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let existing = api.get(&revision.name_any()).await?;
                if same_data(&existing, &data)
                    && owners::is_controlled_by(&existing.metadata, &owner.uid().unwrap_or_default())
                {
                    return Ok((existing, collision_count));
                }
                collision_count += 1;
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Invalid(format!("no free ControllerRevision name for {}", owner.name_any())))
}

/// Deletes the revisions `revisions_to_prune` picks.
pub async fn prune(client: &Client, namespace: &str, names: Vec<String>) -> Result<(), Error> {
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), namespace);
    for name in names {
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    fn template(image: &str) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".to_string(), "web".to_string())].into()),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container { name: "c".into(), image: Some(image.into()), ..Default::default() }],
                ..Default::default()
            }),
        }
    }

    fn revision(name: &str, number: i64, image: &str) -> Arc<ControllerRevision> {
        Arc::new(ControllerRevision {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            data: Some(RawExtension(template_patch(&template(image)))),
            revision: number,
        })
    }

    #[test]
    fn fnv1_matches_go_hash_fnv_new32() {
        // Known FNV-1 32 values: the offset basis for "", and "a".
        assert_eq!(fnv1_32(b""), 0x811c_9dc5);
        assert_eq!(fnv1_32(b"a"), 0x050c_5d7e);
    }

    #[test]
    fn safe_encoding_uses_the_vowel_free_alphabet() {
        assert_eq!(safe_encode("0123"), "4567");
        assert!(safe_encode(&u32::MAX.to_string()).chars().all(|c| SAFE_ALPHABET.contains(&(c as u8))));
    }

    #[test]
    fn patch_replaces_the_template_with_sorted_keys() {
        let data = template_patch(&template("nginx:1"));
        assert_eq!(data["spec"]["template"]["$patch"], "replace");
        let text = serde_json::to_string(&data).unwrap();
        assert!(text.starts_with(r#"{"spec":{"template":{"$patch":"replace","metadata""#), "{text}");
        let restored =
            template_of(&ControllerRevision { data: Some(RawExtension(data)), ..Default::default() }).unwrap();
        assert_eq!(restored, template("nginx:1"));
    }

    #[test]
    fn hash_depends_on_template_and_collision_count() {
        let a = template_patch(&template("nginx:1"));
        let b = template_patch(&template("nginx:2"));
        assert_eq!(hash_data(&a, None), hash_data(&a.clone(), None));
        assert_ne!(hash_data(&a, None), hash_data(&b, None));
        assert_ne!(hash_data(&a, None), hash_data(&a, Some(1)));
        assert_eq!(revision_name("web", "abc"), "web-abc");
    }

    #[test]
    fn update_revision_is_reused_renumbered_or_created() {
        let revisions = vec![revision("web-1", 1, "nginx:1"), revision("web-2", 2, "nginx:2")];
        assert_eq!(
            find_update_revision(&revisions, &template_patch(&template("nginx:2"))),
            UpdateRevision::Current("web-2".into())
        );
        assert_eq!(
            find_update_revision(&revisions, &template_patch(&template("nginx:1"))),
            UpdateRevision::Renumber { name: "web-1".into(), revision: 3 }
        );
        assert_eq!(find_update_revision(&revisions, &template_patch(&template("nginx:3"))), UpdateRevision::Create);
        assert_eq!(next_revision_number(&revisions), 3);
    }

    #[test]
    fn pruning_keeps_live_revisions_and_the_newest_unused() {
        let revisions: Vec<_> = (1..=5).map(|i| revision(&format!("r{i}"), i, &format!("img:{i}"))).collect();
        let live: HashSet<String> = ["r1".to_string(), "r5".to_string()].into();
        assert_eq!(revisions_to_prune(&revisions, &live, 1), vec!["r2".to_string(), "r3".to_string()]);
        assert!(revisions_to_prune(&revisions, &live, 10).is_empty());
        assert_eq!(revisions_to_prune(&revisions, &live, 0).len(), 3);
    }
}
