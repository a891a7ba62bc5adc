//! Upstream's validation of Jobs and CronJobs: a valid pod template (the rules of
//! [`pod_spec`]) whose pods end (restartPolicy OnFailure or Never), non-negative counts, a
//! selector matching the template, a valid cron schedule and concurrency policy; a Job's
//! selector and completions never change.

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::selectors::LabelSelector;
use serde_json::Value;

use super::core::pod_spec;
use crate::object::Object;
use crate::scale::selector_text;

const RESTART_POLICIES: &[&str] = &["OnFailure", "Never"];
const CONCURRENCY_POLICIES: &[&str] = &["Allow", "Forbid", "Replace"];

/// The rules of a job spec at `path` (`spec`, or `spec.jobTemplate.spec` in a CronJob).
fn job_spec(spec: &Value, path: &Path, selector_required: bool, errors: &mut FieldErrors) {
    for field in ["parallelism", "completions", "backoffLimit"] {
        if let Some(n) = spec.get(field).and_then(Value::as_i64)
            && n < 0
        {
            errors.push(FieldError::invalid(path.child(field), n, "must be greater than or equal to 0"));
        }
    }
    if let Some(n) = spec.get("activeDeadlineSeconds").and_then(Value::as_i64)
        && n <= 0
    {
        errors.push(FieldError::invalid(path.child("activeDeadlineSeconds"), n, "must be greater than 0"));
    }
    if spec.get("completionMode").and_then(Value::as_str) == Some("Indexed")
        && spec.get("completions").is_none_or(Value::is_null)
    {
        errors.push(FieldError::required(path.child("completions"), "when completion mode is Indexed"));
    }
    let template = path.child("template");
    errors.extend(pod_spec::validate_template(spec.get("template").unwrap_or(&Value::Null), &template));
    // Defaulting turns an absent policy into Always, so both mean the user chose none.
    let policy_path = template.child("spec").child("restartPolicy");
    match spec.pointer("/template/spec/restartPolicy").and_then(Value::as_str).unwrap_or_default() {
        "" | "Always" => {
            errors.push(FieldError::required(policy_path, "valid values: \"OnFailure\", \"Never\""));
        }
        policy if !RESTART_POLICIES.contains(&policy) => {
            errors.push(FieldError::not_supported(policy_path, policy, RESTART_POLICIES));
        }
        _ => {}
    }
    let selector = spec.get("selector").filter(|s| !s.is_null());
    if selector.is_none() && selector_required {
        errors.push(FieldError::required(path.child("selector"), ""));
    }
    if let Some(selector) = selector {
        let labels = spec
            .pointer("/template/metadata/labels")
            .and_then(Value::as_object)
            .map(|l| l.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default();
        match LabelSelector::parse(&selector_text(Some(selector))) {
            Ok(parsed) if parsed.matches(&labels) => {}
            Ok(_) => errors.push(FieldError::invalid(
                template.child("metadata").child("labels"),
                format!("{labels:?}"),
                "`selector` does not match template `labels`",
            )),
            Err(e) => errors.push(FieldError::invalid(path.child("selector"), selector.to_string(), e.to_string())),
        }
    }
}

/// batch/v1 Job, on create.
pub fn validate_job(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let manual = obj.get("spec").and_then(|s| s.get("manualSelector")).and_then(Value::as_bool) == Some(true);
    job_spec(obj.get("spec").unwrap_or(&Value::Null), &Path::new("spec"), manual, &mut errors);
    errors
}

/// batch/v1 Job, on update: its selector and completions never change.
pub fn validate_job_update(new: &Object, old: &Object) -> FieldErrors {
    let mut errors = validate_job(new);
    for field in ["selector", "completions"] {
        let value = |obj: &Object| obj.get("spec").and_then(|s| s.get(field)).cloned().unwrap_or(Value::Null);
        if value(new) != value(old) {
            errors.push(FieldError::invalid(
                Path::new("spec").child(field),
                value(new).to_string(),
                "field is immutable",
            ));
        }
    }
    errors
}

/// batch/v1 CronJob (create and update alike).
pub fn validate_cron_job(obj: &Object) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    match spec.get("schedule").and_then(Value::as_str) {
        None | Some("") => errors.push(FieldError::required("spec.schedule", "")),
        Some(schedule) => {
            if let Err(why) = check_schedule(schedule) {
                errors.push(FieldError::invalid("spec.schedule", schedule, why));
            }
        }
    }
    if let Some(policy) = spec.get("concurrencyPolicy").and_then(Value::as_str)
        && !CONCURRENCY_POLICIES.contains(&policy)
    {
        errors.push(FieldError::not_supported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES));
    }
    for field in ["startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        if let Some(n) = spec.get(field).and_then(Value::as_i64)
            && n < 0
        {
            errors.push(FieldError::invalid(Path::new("spec").child(field), n, "must be greater than or equal to 0"));
        }
    }
    let job = spec.pointer("/jobTemplate/spec").unwrap_or(&Value::Null);
    job_spec(job, &Path::new("spec").child("jobTemplate").child("spec"), false, &mut errors);
    errors
}

/// CronJob update rules are the create rules.
pub fn validate_cron_job_update(new: &Object, _old: &Object) -> FieldErrors {
    validate_cron_job(new)
}

/// A standard five-field cron schedule (minute hour day-of-month month day-of-week, with
/// `*`, lists, ranges, steps and month/day names) or a `@` descriptor, as the CronJob
/// controller's parser accepts it. `TZ=`/`CRON_TZ=` prefixes are refused like upstream (the
/// time zone goes in `spec.timeZone`).
pub fn check_schedule(schedule: &str) -> Result<(), String> {
    let schedule = schedule.trim();
    if schedule.starts_with("TZ=") || schedule.starts_with("CRON_TZ=") {
        return Err("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into());
    }
    if let Some(descriptor) = schedule.strip_prefix('@') {
        return match descriptor {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => Ok(()),
            d if d.starts_with("every ") => Ok(()),
            _ => Err(format!("unrecognized descriptor: @{descriptor}")),
        };
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
    }
    const MONTHS: &[&str] = &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let ranges: [(u32, u32, &[&str], u32); 5] =
        [(0, 59, &[], 0), (0, 23, &[], 0), (1, 31, &[], 0), (1, 12, MONTHS, 1), (0, 6, DAYS, 0)];
    for (field, (low, high, names, name_base)) in fields.iter().zip(ranges) {
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (part, None),
            };
            if let Some(step) = step
                && step.parse::<u32>().map_or(true, |s| s == 0)
            {
                return Err(format!("invalid step in {part:?}"));
            }
            if range == "*" || range == "?" {
                continue;
            }
            let value = |text: &str| -> Result<u32, String> {
                if let Some(i) = names.iter().position(|n| text.eq_ignore_ascii_case(n)) {
                    return Ok(i as u32 + name_base);
                }
                let n = text.parse::<u32>().map_err(|_| format!("failed to parse int from {text}"))?;
                if n < low || n > high {
                    return Err(format!("{n} is out of range [{low}, {high}]"));
                }
                Ok(n)
            };
            match range.split_once('-') {
                Some((from, to)) => {
                    if value(from)? > value(to)? {
                        return Err(format!("beginning of range ({from}) beyond end of range ({to}): {range}"));
                    }
                }
                None => {
                    value(range)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::checks::testing::messages;

    fn object(value: Value) -> Object {
        let Value::Object(obj) = value else { panic!("an object") };
        obj
    }

    fn fields(errors: &FieldErrors) -> Vec<String> {
        errors.iter().map(|e| e.field.to_string()).collect()
    }

    #[test]
    fn schedules() {
        for good in ["*/5 * * * *", "0 3 * * 1-5", "15,45 9-17 * jan-mar MON", "@hourly", "0 0 1 */2 *"] {
            assert_eq!(check_schedule(good), Ok(()), "{good}");
        }
        for bad in
            ["* * * *", "61 * * * *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "@sometimes", "TZ=UTC 0 * * * *"]
        {
            assert!(check_schedule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jobs_need_pods_that_end_and_keep_their_selector() {
        let job = |policy: &str| {
            let mut obj = object(json!({"spec": {"selector": {"matchLabels": {"u": "1"}}, "template": {
                "metadata": {"labels": {"u": "1"}},
                "spec": {"restartPolicy": policy, "containers": [{"name": "c", "image": "i"}]}}}}));
            super::super::defaults::job(&mut obj);
            obj
        };
        assert!(validate_job(&job("Never")).is_empty());
        assert_eq!(
            messages(&validate_job(&job("Always"))),
            ["spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""]
        );
        assert_eq!(
            messages(&validate_job(&job("Sometimes"))),
            [
                "spec.template.spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.template.spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"OnFailure\", \"Never\"",
            ]
        );
        let mut changed = job("Never");
        changed["spec"]["completions"] = json!(3);
        assert_eq!(fields(&validate_job_update(&changed, &job("Never"))), ["spec.completions"]);
    }

    #[test]
    fn cron_jobs() {
        let mut cron = object(json!({"spec": {"schedule": "0 3 * * *", "concurrencyPolicy": "Sometimes",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "i"}]}}}}}}));
        super::super::defaults::cron_job(&mut cron);
        assert_eq!(fields(&validate_cron_job(&cron)), ["spec.concurrencyPolicy"]);
        cron["spec"]["concurrencyPolicy"] = json!("Forbid");
        cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": ""}]);
        assert_eq!(
            messages(&validate_cron_job(&cron)),
            ["spec.jobTemplate.spec.template.spec.containers[0].env[0].name: Required value"]
        );
    }
}
