//! `policy`: pod disruption budgets.

use serde_json::json;

use super::{AGE, Column, NAME, Printer, age, int, int_or_string, name};

pub(super) static POD_DISRUPTION_BUDGETS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Min Available", "The minimum number of pods that must be available."),
        Column::string("Max Unavailable", "The maximum number of pods that may be unavailable."),
        Column::integer("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time."),
        AGE,
    ],
    |obj, now| {
        let bound = |pointer: &str| {
            obj.pointer(pointer).filter(|v| !v.is_null()).map_or_else(|| "N/A".to_string(), int_or_string)
        };
        vec![
            name(obj),
            json!(bound("/spec/minAvailable")),
            json!(bound("/spec/maxUnavailable")),
            json!(int(obj, "/status/disruptionsAllowed")),
            age(obj, now),
        ]
    },
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{cells, headers};

    #[test]
    fn pod_disruption_budgets() {
        assert_eq!(
            headers("policy", "poddisruptionbudgets"),
            ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"]
        );
        let pdb =
            json!({"metadata": {"name": "web"}, "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(cells("policy", "poddisruptionbudgets", pdb), json!(["web", "2", "N/A", 1, "<unknown>"]));
        let percent = json!({"metadata": {"name": "db"}, "spec": {"maxUnavailable": "25%"}});
        assert_eq!(cells("policy", "poddisruptionbudgets", percent), json!(["db", "N/A", "25%", 0, "<unknown>"]));
    }
}
