//! Prometheus metrics with upstream's names: `apiserver_request_total` (by verb, group,
//! version, resource, subresource, scope, component, code) and
//! `apiserver_request_duration_seconds` (a histogram by the same labels but code).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use parking_lot::Mutex;

/// Upstream's buckets for `apiserver_request_duration_seconds`.
const BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0,
    45.0, 60.0,
];

/// What a request was, as metric labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct RequestLabels {
    /// `GET`, `LIST`, `WATCH`, `POST`, `PUT`, `PATCH`, `DELETE`, `DELETECOLLECTION`, or the
    /// method of a non-resource request.
    pub verb: String,
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Resource (empty for non-resource requests).
    pub resource: String,
    /// Subresource.
    pub subresource: String,
    /// `namespace`, `cluster`, `resource` (one named object), or empty.
    pub scope: String,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The registry of request metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    totals: Mutex<BTreeMap<(RequestLabels, u16), u64>>,
    durations: Mutex<BTreeMap<RequestLabels, Histogram>>,
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn labels(l: &RequestLabels) -> String {
    format!(
        "component=\"apiserver\",group=\"{}\",resource=\"{}\",scope=\"{}\",subresource=\"{}\",verb=\"{}\",version=\"{}\"",
        escape(&l.group),
        escape(&l.resource),
        escape(&l.scope),
        escape(&l.subresource),
        escape(&l.verb),
        escape(&l.version)
    )
}

impl Metrics {
    /// Records one finished request.
    pub fn observe(&self, request: RequestLabels, code: u16, took: Duration) {
        *self.totals.lock().entry((request.clone(), code)).or_default() += 1;
        let seconds = took.as_secs_f64();
        let mut durations = self.durations.lock();
        let histogram = durations.entry(request).or_default();
        for (bucket, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
            if seconds <= *bucket {
                *count += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n");
        out.push_str("# TYPE apiserver_request_total counter\n");
        for ((l, code), total) in self.totals.lock().iter() {
            let _ = writeln!(out, "apiserver_request_total{{code=\"{code}\",{}}} {total}", labels(l));
        }
        out.push_str("# HELP apiserver_request_duration_seconds Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.\n");
        out.push_str("# TYPE apiserver_request_duration_seconds histogram\n");
        for (l, h) in self.durations.lock().iter() {
            let l = labels(l);
            for (bucket, count) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(out, "apiserver_request_duration_seconds_bucket{{{l},le=\"{bucket}\"}} {count}");
            }
            let _ = writeln!(out, "apiserver_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "apiserver_request_duration_seconds_sum{{{l}}} {}", h.sum);
            let _ = writeln!(out, "apiserver_request_duration_seconds_count{{{l}}} {}", h.count);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_histograms() {
        let metrics = Metrics::default();
        let list = RequestLabels {
            verb: "LIST".into(),
            resource: "pods".into(),
            version: "v1".into(),
            scope: "namespace".into(),
            ..Default::default()
        };
        metrics.observe(list.clone(), 200, Duration::from_millis(3));
        metrics.observe(list.clone(), 200, Duration::from_millis(300));
        metrics.observe(list, 410, Duration::from_millis(1));
        let text = metrics.render();
        assert!(text.contains(r#"apiserver_request_total{code="200",component="apiserver",group="",resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"} 2"#), "{text}");
        assert!(text.contains(r#"le="0.005"} 2"#), "{text}");
        assert!(text.contains(r#"le="0.4"} 3"#), "{text}");
        assert!(text.contains("apiserver_request_duration_seconds_count{"), "{text}");
    }
}
