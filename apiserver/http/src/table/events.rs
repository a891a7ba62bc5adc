//! `events.k8s.io`: the same events as core `v1` under newer field names, printed alike
//! (upstream prints both from one internal type).

use serde_json::{Value, json};

use super::Printer;
use super::core::{EVENT_COLUMNS, event_cells};

pub(super) static EVENTS: Printer = Printer::new(EVENT_COLUMNS, |obj, now| event_cells(&as_core_event(obj), now));

/// An `events.k8s.io/v1` event with the core `v1` field names its cells are read from.
fn as_core_event(event: &Value) -> Value {
    let field = |name: &str| event.get(name).cloned().unwrap_or(Value::Null);
    json!({
        "metadata": field("metadata"),
        "involvedObject": field("regarding"),
        "type": field("type"),
        "reason": field("reason"),
        "message": field("note"),
        "source": field("deprecatedSource"),
        "firstTimestamp": field("deprecatedFirstTimestamp"),
        "lastTimestamp": field("deprecatedLastTimestamp"),
        "count": field("deprecatedCount"),
        "eventTime": field("eventTime"),
        "series": field("series"),
        "reportingComponent": field("reportingController"),
        "reportingInstance": field("reportingInstance"),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{ago, cells, headers};

    #[test]
    fn events_k8s_io_print_like_core_events() {
        assert_eq!(headers("events.k8s.io", "events"), headers("", "events"));
        let event = json!({
            "metadata": {"name": "web.2"},
            "regarding": {"kind": "Deployment", "name": "web"},
            "type": "Normal",
            "reason": "ScalingReplicaSet",
            "note": "Scaled up replica set web-1 to 3",
            "eventTime": ago(400),
            "reportingController": "deployment-controller",
            "reportingInstance": "cm-1",
            "series": {"count": 4, "lastObservedTime": ago(10)},
        });
        assert_eq!(
            cells("events.k8s.io", "events", event),
            json!([
                "10s",
                "Normal",
                "ScalingReplicaSet",
                "deployment/web",
                "",
                "deployment-controller, cm-1",
                "Scaled up replica set web-1 to 3",
                "6m40s",
                4,
                "web.2"
            ])
        );
        let legacy = json!({
            "metadata": {"name": "old"},
            "regarding": {"kind": "Pod", "name": "p"},
            "deprecatedSource": {"component": "kubelet", "host": "n1"},
            "deprecatedFirstTimestamp": ago(60),
            "deprecatedLastTimestamp": ago(5),
            "deprecatedCount": 3,
        });
        let row = cells("events.k8s.io", "events", legacy);
        assert_eq!(
            (&row[0], &row[5], &row[7], &row[8]),
            (&json!("5s"), &json!("kubelet, n1"), &json!("60s"), &json!(3))
        );
    }
}
