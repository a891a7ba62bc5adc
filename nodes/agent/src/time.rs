//! Timestamps as the API writes them: `Time` in whole seconds, `MicroTime` in microseconds.

use jiff::Timestamp;

/// RFC 3339 in whole seconds (metav1.Time).
pub fn rfc3339(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// RFC 3339 with microseconds (metav1.MicroTime, e.g. a Lease's renewTime).
pub fn rfc3339_micro(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `ts` plus `by`, saturating at the far future instead of overflowing.
pub fn after(ts: Timestamp, by: std::time::Duration) -> Timestamp {
    jiff::SignedDuration::try_from(by).ok().and_then(|d| ts.checked_add(d).ok()).unwrap_or(Timestamp::MAX)
}

/// How long from `now` until `at` (zero if it has passed).
pub fn until(now: Timestamp, at: Timestamp) -> std::time::Duration {
    std::time::Duration::try_from(at.duration_since(now)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_the_api_does() {
        let ts: Timestamp = "2026-01-02T03:04:05.123456789Z".parse().unwrap();
        assert_eq!(rfc3339(ts), "2026-01-02T03:04:05Z");
        assert_eq!(rfc3339_micro(ts), "2026-01-02T03:04:05.123456Z");
    }

    #[test]
    fn after_and_until_are_inverse() {
        let now: Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        let later = after(now, std::time::Duration::from_millis(1500));
        assert_eq!(until(now, later), std::time::Duration::from_millis(1500));
        assert_eq!(until(later, now), std::time::Duration::ZERO);
    }
}
