//! `batch`: jobs and cron jobs.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{
    AGE, CONTAINERS, Column, IMAGES, NAME, Printer, SELECTOR, age, containers, deleting, flag, format_label_selector,
    human_duration, int, int_or, items, name, since, text, timestamp,
};

pub(super) static JOBS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Status", "Status of the job."),
        Column::string("Completions", "The number of pods which reached phase Succeeded."),
        Column::string("Duration", "Time required to complete the job."),
        AGE,
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
    job_cells,
);

/// STATUS (`Complete`, `Failed`, `Terminating`, `Suspended`, `FailureTarget`, else `Running`),
/// COMPLETIONS (`succeeded/completions`; without completions `succeeded/1`, or
/// `succeeded/1 of <parallelism>`), DURATION (start to completion, or to now while running; ""
/// before the start).
fn job_cells(obj: &Value, now: Timestamp) -> Vec<Value> {
    let succeeded = int(obj, "/status/succeeded");
    let completions = match obj.pointer("/spec/completions").and_then(Value::as_i64) {
        Some(completions) => format!("{succeeded}/{completions}"),
        None => match int_or(obj, "/spec/parallelism", 1) {
            parallelism if parallelism > 1 => format!("{succeeded}/1 of {parallelism}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let duration = match (timestamp(obj.pointer("/status/startTime")), timestamp(obj.pointer("/status/completionTime")))
    {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(now.duration_since(start)),
        (Some(start), Some(end)) => human_duration(end.duration_since(start)),
    };
    let condition = |kind: &str| {
        let found = items(obj, "/status/conditions").iter().find(|c| text(c, "/type") == kind);
        found.is_some_and(|c| text(c, "/status") == "True")
    };
    let status = match () {
        _ if condition("Complete") => "Complete",
        _ if condition("Failed") => "Failed",
        _ if deleting(obj) => "Terminating",
        _ if condition("Suspended") => "Suspended",
        _ if condition("FailureTarget") => "FailureTarget",
        _ => "Running",
    };
    let [names, images] = containers(obj.pointer("/spec/template/spec"));
    vec![
        name(obj),
        json!(status),
        json!(completions),
        json!(duration),
        age(obj, now),
        names,
        images,
        json!(format_label_selector(obj.pointer("/spec/selector"))),
    ]
}

pub(super) static CRON_JOBS: Printer = Printer::new(
    &[
        NAME,
        Column::string("Schedule", "The schedule in Cron format."),
        Column::string("Timezone", "The time zone name for the given schedule."),
        Column::boolean("Suspend", "Whether the controller suspends subsequent executions."),
        Column::integer("Active", "A list of pointers to currently running jobs."),
        Column::string("Last Schedule", "Information when was the last time the job was successfully scheduled."),
        AGE,
        CONTAINERS,
        IMAGES,
        SELECTOR,
    ],
    |obj, now| {
        let last_schedule = match obj.pointer("/status/lastScheduleTime").filter(|t| !t.is_null()) {
            Some(time) => since(Some(time), now),
            None => "<none>".to_string(),
        };
        let time_zone = obj.pointer("/spec/timeZone").and_then(Value::as_str).unwrap_or("<none>");
        let job_spec = obj.pointer("/spec/jobTemplate/spec");
        let [names, images] = containers(job_spec.and_then(|s| s.pointer("/template/spec")));
        vec![
            name(obj),
            json!(text(obj, "/spec/schedule")),
            json!(time_zone),
            // Upstream prints the flag as a word (`printBoolPtr`), defaulted to false.
            json!(if flag(obj, "/spec/suspend", false) { "True" } else { "False" }),
            json!(items(obj, "/status/active").len()),
            json!(last_schedule),
            age(obj, now),
            names,
            images,
            json!(format_label_selector(job_spec.and_then(|s| s.get("selector")))),
        ]
    },
);

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testing::{ago, cells, headers};

    fn job(spec: Value, status: Value) -> Value {
        json!({"metadata": {"name": "pi", "creationTimestamp": ago(600)}, "spec": spec, "status": status})
    }

    #[test]
    fn jobs_running_complete_failed_and_more() {
        assert_eq!(
            headers("batch", "jobs"),
            ["Name", "Status", "Completions", "Duration", "Age", "Containers*", "Images*", "Selector*"]
        );
        let template = json!({"spec": {"containers": [{"name": "pi", "image": "perl"}]}});
        let complete = job(
            json!({"completions": 3, "template": template, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}}),
            json!({"succeeded": 3, "startTime": ago(500), "completionTime": ago(200),
                   "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
        );
        assert_eq!(
            cells("batch", "jobs", complete),
            json!(["pi", "Complete", "3/3", "5m", "10m", "pi", "perl", "batch.kubernetes.io/controller-uid=u1"])
        );
        let failed = job(
            json!({}),
            json!({"startTime": ago(90), "completionTime": ago(30), "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}),
        );
        assert_eq!(cells("batch", "jobs", failed), json!(["pi", "Failed", "0/1", "60s", "10m", "", "", "<none>"]));
        let running = job(json!({"parallelism": 4}), json!({"succeeded": 1, "startTime": ago(45)}));
        assert_eq!(
            cells("batch", "jobs", running),
            json!(["pi", "Running", "1/1 of 4", "45s", "10m", "", "", "<none>"])
        );
        let suspended = job(json!({"suspend": true}), json!({"conditions": [{"type": "Suspended", "status": "True"}]}));
        assert_eq!(
            cells("batch", "jobs", suspended).as_array().unwrap()[1..4],
            [json!("Suspended"), json!("0/1"), json!("")]
        );
        let failing = job(json!({}), json!({"conditions": [{"type": "FailureTarget", "status": "True"}]}));
        assert_eq!(cells("batch", "jobs", failing)[1], "FailureTarget");
        let mut deleted = job(json!({}), json!({"conditions": [{"type": "Suspended", "status": "True"}]}));
        deleted["metadata"]["deletionTimestamp"] = json!(ago(1));
        assert_eq!(cells("batch", "jobs", deleted)[1], "Terminating");
    }

    #[test]
    fn cron_jobs() {
        assert_eq!(
            headers("batch", "cronjobs"),
            [
                "Name",
                "Schedule",
                "Timezone",
                "Suspend",
                "Active",
                "Last Schedule",
                "Age",
                "Containers*",
                "Images*",
                "Selector*"
            ]
        );
        let cron = json!({
            "metadata": {"name": "report", "creationTimestamp": ago(2 * 86_400 + 3600)},
            "spec": {"schedule": "*/5 * * * *", "timeZone": "Europe/Paris", "suspend": true,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "r", "image": "busybox"}]}}}}},
            "status": {"active": [{"name": "report-1"}, {"name": "report-2"}], "lastScheduleTime": ago(150)},
        });
        assert_eq!(
            cells("batch", "cronjobs", cron),
            json!(["report", "*/5 * * * *", "Europe/Paris", "True", 2, "2m30s", "2d1h", "r", "busybox", "<none>"])
        );
        let fresh = json!({"metadata": {"name": "n"}, "spec": {"schedule": "@daily"}});
        assert_eq!(
            cells("batch", "cronjobs", fresh),
            json!(["n", "@daily", "<none>", "False", 0, "<none>", "<unknown>", "", "", "<none>"])
        );
    }
}
