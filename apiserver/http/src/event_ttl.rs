//! The event TTL (`--event-ttl`, default 1h): upstream stores every Event with an etcd lease of
//! that length, renewed by each write, so events vanish an hour after they last happened. Our
//! store has no leases: a background task deletes, through the registry (watchers see
//! DELETED), the events whose last activity ([`last_activity`]) is older than the TTL, every
//! tenth of the TTL (at most a minute), so an event outlives its TTL by at most that.

use std::time::Duration;

use apiserver_machinery::ApiError;
use apiserver_machinery::resource_version::ReadParams;
use apiserver_registry::object::meta_str;
use apiserver_registry::resources::events::last_activity;
use apiserver_registry::{DeleteOptions, ListOptions, Registry};
use jiff::Timestamp;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::resource_metrics::go_duration_seconds;

/// Events read per page while sweeping (bounds the memory of a pass over many events).
const PAGE: i64 = 500;
/// The longest wait between two sweeps.
const MAX_PERIOD: Duration = Duration::from_secs(60);
/// The shortest wait between two sweeps (tiny TTLs in tests must not spin).
const MIN_PERIOD: Duration = Duration::from_millis(100);

/// Parses `--event-ttl`: a Go duration (`1h0m0s`, `90m`, `30s`); 0 keeps events forever.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    match go_duration_seconds(text) {
        Some(seconds) if seconds >= 0.0 => Ok(Duration::from_secs_f64(seconds)),
        Some(_) => Err(format!("the event TTL may not be negative: {text}")),
        None => Err(format!("not a duration (like 1h0m0s, 90m, 30s): {text}")),
    }
}

/// How often the sweeper looks for expired events: a tenth of the TTL, within bounds.
pub fn sweep_period(ttl: Duration) -> Duration {
    (ttl / 10).clamp(MIN_PERIOD, MAX_PERIOD)
}

/// Starts the sweeper over the core Events among `registries` (the `events.k8s.io` ones are
/// the same objects); `None` when the TTL is 0 or no Events are served.
pub fn start(registries: &[Registry], ttl: Duration) -> Option<JoinHandle<()>> {
    if ttl.is_zero() {
        return None;
    }
    let events = registries.iter().find(|r| r.resource().group.is_empty() && r.resource().plural == "events")?.clone();
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(sweep_period(ttl));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(&events, ttl, Timestamp::now()).await {
                Ok(0) => {}
                Ok(deleted) => tracing::debug!(deleted, "expired events deleted"),
                Err(err) => tracing::warn!(%err, "event TTL sweep failed"),
            }
        }
    }))
}

/// Deletes the events (of `events`, the core Events registry) whose last activity is more than
/// `ttl` before `now`; returns how many went. An event written meanwhile (it happened again)
/// is kept: the delete is conditional on the resourceVersion read.
pub async fn sweep(events: &Registry, ttl: Duration, now: Timestamp) -> Result<usize, ApiError> {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let mut deleted = 0;
    let mut token: Option<String> = None;
    loop {
        let read = ReadParams { limit: Some(PAGE), continue_token: token.as_deref(), ..ReadParams::default() };
        let page = events.list(None, ListOptions { read, ..ListOptions::default() }).await?;
        for item in page["items"].as_array().into_iter().flatten() {
            let Value::Object(event) = item else { continue };
            let Some(last) = last_activity(event) else { continue };
            if now.as_millisecond().saturating_sub(last.as_millisecond()) <= ttl_ms {
                continue;
            }
            let options = DeleteOptions {
                uid: Some(meta_str(event, "uid").to_string()),
                resource_version: Some(meta_str(event, "resourceVersion").to_string()),
                ..DeleteOptions::default()
            };
            let namespace = meta_str(event, "namespace");
            match events.delete(Some(namespace), meta_str(event, "name"), &options).await {
                Ok(_) => deleted += 1,
                // Gone or written meanwhile: nothing to do now.
                Err(err) if err.code() == 404 || err.code() == 409 => {}
                Err(err) => return Err(err),
            }
        }
        token = page["metadata"]["continue"].as_str().map(str::to_string);
        if token.is_none() {
            return Ok(deleted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_a_go_duration() {
        assert_eq!(parse_ttl("1h0m0s"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_ttl("0"), Ok(Duration::ZERO));
        assert!(parse_ttl("-1s").is_err());
        assert!(parse_ttl("an hour").is_err());
    }

    #[test]
    fn sweeps_every_tenth_of_the_ttl_within_bounds() {
        assert_eq!(sweep_period(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(sweep_period(Duration::from_secs(120)), Duration::from_secs(12));
        assert_eq!(sweep_period(Duration::from_millis(500)), Duration::from_millis(100));
    }
}
