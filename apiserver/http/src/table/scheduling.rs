//! `scheduling.k8s.io`: priority classes.

use serde_json::json;

use super::{AGE, Column, NAME, Printer, age, flag, int, name, text};

/// PREEMPTIONPOLICY has priority 0 upstream: `kubectl get priorityclasses` shows it.
pub(super) static PRIORITY_CLASSES: Printer = Printer::new(
    &[
        NAME,
        Column::integer("Value", "The value of this priority class."),
        Column::boolean("Global-Default", "Whether this priority class is the default for pods without one."),
        AGE,
        Column::string("PreemptionPolicy", "The policy for preempting pods with lower priority."),
    ],
    |obj, now| {
        let policy = match text(obj, "/preemptionPolicy") {
            "" => "PreemptLowerPriority",
            policy => policy,
        };
        vec![
            name(obj),
            json!(int(obj, "/value")),
            json!(flag(obj, "/globalDefault", false)),
            age(obj, now),
            json!(policy),
        ]
    },
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{cells, headers};

    #[test]
    fn priority_classes() {
        assert_eq!(
            headers("scheduling.k8s.io", "priorityclasses"),
            ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"]
        );
        let class =
            json!({"metadata": {"name": "high"}, "value": 1000, "globalDefault": true, "preemptionPolicy": "Never"});
        assert_eq!(
            cells("scheduling.k8s.io", "priorityclasses", class),
            json!(["high", 1000, true, "<unknown>", "Never"])
        );
        let plain = json!({"metadata": {"name": "low"}, "value": -5});
        assert_eq!(
            cells("scheduling.k8s.io", "priorityclasses", plain),
            json!(["low", -5, false, "<unknown>", "PreemptLowerPriority"])
        );
    }
}
