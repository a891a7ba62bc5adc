//! Rollout arithmetic (upstream `deployment/util` and `rolling.go`), pure: how far a rolling
//! update may surge and how many pods may be unavailable, the next size of the new ReplicaSet,
//! which old ReplicaSets shrink and by how much, and proportional scaling of every active
//! ReplicaSet when the Deployment is resized mid-rollout.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::annotations;

/// `spec.replicas` (defaulted to 1).
pub fn desired(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0)
}

pub fn is_rolling(d: &Deployment) -> bool {
    let strategy = d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.type_.as_deref());
    strategy != Some("Recreate")
}

/// `value` of `total`: an int as is, a percentage rounded up (surge) or down (unavailable).
pub fn scaled_value(value: &IntOrString, total: i32, round_up: bool) -> Result<i32, String> {
    match value {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(s) => {
            let percent: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| format!("invalid value for IntOrString: {s:?}"))?;
            let product = percent * i64::from(total);
            let scaled = if round_up { (product + 99).div_euclid(100) } else { product.div_euclid(100) };
            Ok(i32::try_from(scaled).unwrap_or(i32::MAX))
        }
    }
}

/// (maxSurge, maxUnavailable) as pod counts for `desired` replicas; both zero is not allowed
/// (validation refuses it), so unavailable becomes 1 as upstream's `ResolveFenceposts` does.
pub fn fenceposts(d: &Deployment, desired: i32) -> (i32, i32) {
    let rolling = d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.rolling_update.as_ref());
    let quarter = IntOrString::String("25%".into());
    let surge = rolling.and_then(|r| r.max_surge.as_ref()).unwrap_or(&quarter);
    let unavailable = rolling.and_then(|r| r.max_unavailable.as_ref()).unwrap_or(&quarter);
    let surge = scaled_value(surge, desired, true).unwrap_or(0).max(0);
    let unavailable = scaled_value(unavailable, desired, false).unwrap_or(0).max(0);
    if surge == 0 && unavailable == 0 { (0, 1) } else { (surge, unavailable) }
}

pub fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling(d) {
        return 0;
    }
    fenceposts(d, desired(d)).0
}

pub fn max_unavailable(d: &Deployment) -> i32 {
    let replicas = desired(d);
    if !is_rolling(d) || replicas == 0 {
        return 0;
    }
    fenceposts(d, replicas).1.min(replicas)
}

pub fn total_replicas(rss: &[&ReplicaSet]) -> i32 {
    rss.iter().map(|rs| rs_replicas(rs)).sum()
}

/// The size the new ReplicaSet may grow to now (upstream `NewRSNewReplicas`): for a rolling
/// update, as far as the surge allows; for Recreate, all at once.
pub fn new_rs_new_replicas(d: &Deployment, all: &[&ReplicaSet], new_rs_replicas: i32) -> i32 {
    if !is_rolling(d) {
        return desired(d);
    }
    let current = total_replicas(all);
    let max_total = desired(d) + max_surge(d);
    if current >= max_total {
        return new_rs_replicas;
    }
    let room = (max_total - current).min(desired(d) - new_rs_replicas);
    new_rs_replicas + room.max(0)
}

fn created(rs: &ReplicaSet) -> Option<i64> {
    rs.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second())
}

/// Older first, then by name (upstream `ReplicaSetsByCreationTimestamp`).
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    created(a).cmp(&created(b)).then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// New sizes of old ReplicaSets for one rolling-update step (upstream `reconcileOldReplicaSets`):
/// first shrink unhealthy old replicas (they are not available anyway), then scale down old
/// ReplicaSets while more than `replicas - maxUnavailable` pods stay available.
pub fn scale_down_old(d: &Deployment, old_active: &[&ReplicaSet], new_rs: &ReplicaSet) -> BTreeMap<String, i32> {
    let mut sizes: BTreeMap<String, i32> = BTreeMap::new();
    let old_pods: i32 = total_replicas(old_active);
    if old_pods == 0 {
        return sizes;
    }
    let mut olds: Vec<&ReplicaSet> = old_active.to_vec();
    olds.sort_by(|a, b| by_creation(a, b));
    let name = |rs: &ReplicaSet| rs.metadata.name.clone().unwrap_or_default();
    let all_pods = old_pods + rs_replicas(new_rs);
    let min_available = desired(d) - max_unavailable(d);
    let new_unavailable = rs_replicas(new_rs) - rs_available(new_rs);
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return sizes;
    }
    // Unhealthy replicas first.
    let mut cleaned = 0;
    for rs in &olds {
        if cleaned >= max_scaled_down {
            break;
        }
        let replicas = rs_replicas(rs);
        let unhealthy = replicas - rs_available(rs);
        if replicas == 0 || unhealthy <= 0 {
            continue;
        }
        let down = (max_scaled_down - cleaned).min(unhealthy);
        sizes.insert(name(rs), replicas - down);
        cleaned += down;
    }
    // Then available ones, as far as availability allows.
    let available: i32 = olds.iter().map(|rs| rs_available(rs)).sum::<i32>() + rs_available(new_rs);
    if available <= min_available {
        return sizes;
    }
    let total_down = available - min_available;
    let mut scaled = 0;
    for rs in &olds {
        if scaled >= total_down {
            break;
        }
        let replicas = sizes.get(&name(rs)).copied().unwrap_or_else(|| rs_replicas(rs));
        if replicas == 0 {
            continue;
        }
        let down = replicas.min(total_down - scaled);
        sizes.insert(name(rs), replicas - down);
        scaled += down;
    }
    sizes
}

/// A ReplicaSet's share of `to_add` (upstream `GetProportion`/`getReplicaSetFraction`): its size
/// scaled by the new Deployment size over the size its max-replicas annotation records.
fn proportion(d: &Deployment, rs: &ReplicaSet, to_add: i32, added: i32) -> i32 {
    let replicas = rs_replicas(rs);
    if replicas == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = if desired(d) == 0 {
        -replicas
    } else {
        let target = desired(d) + max_surge(d);
        let annotated =
            annotations::max_replicas(rs).unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
        if annotated == 0 {
            0
        } else {
            let scaled = f64::from(replicas) * f64::from(target) / f64::from(annotated);
            #[allow(clippy::cast_possible_truncation, reason = "a replica count times a ratio of replica counts")]
            let rounded = scaled.round() as i32;
            rounded - replicas
        }
    };
    let allowed = to_add - added;
    if to_add > 0 { fraction.min(allowed) } else { fraction.max(allowed) }
}

/// New sizes of the active ReplicaSets when a Deployment is resized during a rollout
/// (upstream `scale`, rolling-update branch): each gets its proportion, the largest the rest.
/// Returns the sizes and whether it is a scale "up" or "down".
pub fn proportional_sizes(d: &Deployment, active: &[&ReplicaSet]) -> (BTreeMap<String, i32>, &'static str) {
    let mut sizes = BTreeMap::new();
    let current = total_replicas(active);
    let allowed = if desired(d) > 0 { desired(d) + max_surge(d) } else { 0 };
    let to_add = allowed - current;
    let mut ordered: Vec<&ReplicaSet> = active.to_vec();
    let direction = if to_add > 0 {
        // Larger first; among equals the newer one gets the leftovers.
        ordered.sort_by(|a, b| rs_replicas(b).cmp(&rs_replicas(a)).then_with(|| by_creation(b, a)));
        "up"
    } else {
        ordered.sort_by(|a, b| rs_replicas(b).cmp(&rs_replicas(a)).then_with(|| by_creation(a, b)));
        "down"
    };
    let name = |rs: &ReplicaSet| rs.metadata.name.clone().unwrap_or_default();
    let mut added = 0;
    for rs in &ordered {
        let share = proportion(d, rs, to_add, added);
        sizes.insert(name(rs), rs_replicas(rs) + share);
        added += share;
    }
    if let Some(largest) = ordered.first()
        && to_add != 0
    {
        let size = sizes.entry(name(largest)).or_default();
        *size = (*size + to_add - added).max(0);
    }
    (sizes, direction)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{
        DeploymentSpec, DeploymentStatus, DeploymentStrategy, ReplicaSetSpec, ReplicaSetStatus, RollingUpdateDeployment,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    pub(crate) fn deployment(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(surge),
                        max_unavailable: Some(unavailable),
                    }),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub(crate) fn rs(name: &str, created: i64, replicas: i32, available: i32) -> ReplicaSet {
        let mut rs = ReplicaSet {
            spec: Some(ReplicaSetSpec { replicas: Some(replicas), ..Default::default() }),
            status: Some(ReplicaSetStatus { available_replicas: Some(available), replicas, ..Default::default() }),
            ..Default::default()
        };
        rs.metadata.name = Some(name.into());
        rs.metadata.creation_timestamp = Some(Time(Timestamp::from_second(created).unwrap()));
        rs
    }

    fn pct(s: &str) -> IntOrString {
        IntOrString::String(s.into())
    }

    #[test]
    fn surge_rounds_up_and_unavailable_rounds_down() {
        let d = deployment(10, pct("25%"), pct("25%"));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (3, 2));
        let d = deployment(3, pct("50%"), IntOrString::Int(5));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (2, 3), "unavailable capped at replicas");
        let d = deployment(1, pct("0%"), pct("0%"));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 1), "both zero means one unavailable");
        let mut recreate = deployment(4, pct("25%"), pct("25%"));
        recreate.spec.as_mut().unwrap().strategy.as_mut().unwrap().type_ = Some("Recreate".into());
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
        assert!(scaled_value(&pct("x%"), 10, true).is_err());
    }

    #[test]
    fn the_new_replica_set_grows_within_the_surge() {
        let d = deployment(3, IntOrString::Int(1), IntOrString::Int(0));
        let old = rs("old", 1, 3, 3);
        let new = rs("new", 2, 0, 0);
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], 0), 1);
        let new = rs("new", 2, 1, 0);
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], 1), 1, "already at replicas + surge");
        let old = rs("old", 1, 1, 1);
        assert_eq!(new_rs_new_replicas(&d, &[&old, &new], 1), 3, "never beyond replicas");
    }

    #[test]
    fn old_replica_sets_shrink_only_while_enough_pods_stay_available() {
        let d = deployment(3, IntOrString::Int(1), IntOrString::Int(0));
        let old = rs("old", 1, 3, 3);
        // The new pod is not available yet: nothing may go.
        let new = rs("new", 2, 1, 0);
        assert!(scale_down_old(&d, &[&old], &new).is_empty());
        // It is: one old pod may go.
        let new = rs("new", 2, 1, 1);
        assert_eq!(scale_down_old(&d, &[&old], &new), BTreeMap::from([("old".to_string(), 2)]));
    }

    #[test]
    fn unhealthy_old_replicas_go_first_and_oldest_sets_first() {
        let d = deployment(4, IntOrString::Int(0), IntOrString::Int(1));
        let oldest = rs("oldest", 1, 2, 0);
        let old = rs("old", 2, 2, 2);
        let new = rs("new", 3, 0, 0);
        // 4 pods of which 3 must stay: one may go, and it is an unhealthy one.
        assert_eq!(scale_down_old(&d, &[&old, &oldest], &new), BTreeMap::from([("oldest".to_string(), 1)]));
        let healthy_oldest = rs("oldest", 1, 2, 2);
        assert_eq!(scale_down_old(&d, &[&old, &healthy_oldest], &new), BTreeMap::from([("oldest".to_string(), 1)]));
    }

    #[test]
    fn resizing_mid_rollout_scales_every_active_set_in_proportion() {
        // 10 replicas, surge 3: old 8 + new 5 = 13 annotated max 13; scaled to 20 (+5 surge = 25).
        let mut d = deployment(20, pct("25%"), pct("25%"));
        d.status = Some(DeploymentStatus { replicas: Some(13), ..Default::default() });
        let mut old = rs("old", 1, 8, 8);
        let mut new = rs("new", 2, 5, 0);
        for r in [&mut old, &mut new] {
            r.metadata.annotations = Some([(annotations::MAX_REPLICAS.to_string(), "13".to_string())].into());
        }
        let (sizes, direction) = proportional_sizes(&d, &[&old, &new]);
        assert_eq!(direction, "up");
        assert_eq!(sizes.values().sum::<i32>(), 25);
        assert_eq!(sizes, BTreeMap::from([("old".to_string(), 15), ("new".to_string(), 10)]));
        // Down to 0: everything goes.
        let mut zero = d.clone();
        zero.spec.as_mut().unwrap().replicas = Some(0);
        let (sizes, direction) = proportional_sizes(&zero, &[&old, &new]);
        assert_eq!((direction, sizes.values().sum::<i32>()), ("down", 0));
    }
}
