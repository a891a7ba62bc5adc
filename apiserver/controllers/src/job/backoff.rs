//! The delay before a failed Job's pods are recreated: 10 s after the first failure since the
//! last success, doubling with each further failure, at most 6 minutes (upstream's
//! `DefaultJobPodFailureBackOff` and `MaxJobPodFailureBackOff`).

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

pub const BASE: Duration = Duration::from_secs(10);
pub const MAX: Duration = Duration::from_secs(360);

/// The delay after `failures` consecutive failures (none after zero).
pub fn delay(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doublings = (failures - 1).min(16);
    BASE.saturating_mul(1 << doublings).min(MAX)
}

/// How long to wait from `now` before creating pods again: `None` when no wait is needed.
pub fn remaining(failures: u32, last_failure: Option<Timestamp>, now: Timestamp) -> Option<Duration> {
    let last_failure = last_failure?;
    let wait = delay(failures);
    let elapsed = Duration::try_from(now.duration_since(last_failure)).unwrap_or(Duration::ZERO);
    (elapsed < wait).then(|| wait - elapsed)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::SignedDuration;

    use super::*;

    #[test]
    fn doubles_from_ten_seconds_up_to_six_minutes() {
        assert_eq!(delay(0), Duration::ZERO);
        assert_eq!(delay(1), Duration::from_secs(10));
        assert_eq!(delay(2), Duration::from_secs(20));
        assert_eq!(delay(3), Duration::from_secs(40));
        assert_eq!(delay(6), Duration::from_secs(320));
        assert_eq!(delay(7), MAX);
        assert_eq!(delay(1000), MAX);
    }

    #[test]
    fn the_wait_counts_from_the_last_failure() {
        let failed: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let later = |s: i64| failed.checked_add(SignedDuration::from_secs(s)).unwrap();
        assert_eq!(remaining(2, Some(failed), later(5)), Some(Duration::from_secs(15)));
        assert_eq!(remaining(2, Some(failed), later(20)), None);
        assert_eq!(remaining(0, Some(failed), later(0)), None);
        assert_eq!(remaining(3, None, later(0)), None);
    }
}
