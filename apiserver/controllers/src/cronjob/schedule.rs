//! Cron schedules as upstream's CronJob controller reads them (robfig/cron's standard parser):
//! five fields `minute hour day-of-month month day-of-week` with `*`, `?`, lists, ranges,
//! steps and month/day names, or a descriptor (`@yearly`/`@annually`, `@monthly`, `@weekly`,
//! `@daily`/`@midnight`, `@hourly`, and `@every <duration>`).
//!
//! Next times are found in the CronJob's time zone the way robfig does it: months and days
//! advance on the calendar, hours and minutes on the clock, so a time skipped by a DST jump
//! does not run that day and a repeated hour runs twice. Day-of-month and day-of-week are
//! OR-ed unless one of them is `*` (or `?`), as in classic cron.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Fields(Fields),
    /// `@every`: a constant delay, in whole seconds (at least one).
    Every(i64),
}

/// The five fields as bit sets (bit n = value n).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    dom_star: bool,
    dow_star: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Schedule {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ParseError("empty spec string".into()));
        }
        if let Some(descriptor) = text.strip_prefix('@') {
            let fields = match descriptor {
                "yearly" | "annually" => "0 0 1 1 *",
                "monthly" => "0 0 1 * *",
                "weekly" => "0 0 * * 0",
                "daily" | "midnight" => "0 0 * * *",
                "hourly" => "0 * * * *",
                other => {
                    let Some(duration) = other.strip_prefix("every ") else {
                        return Err(ParseError(format!("unrecognized descriptor: {text}")));
                    };
                    let seconds = go_duration_seconds(duration.trim())
                        .ok_or_else(|| ParseError(format!("failed to parse duration {text}")))?;
                    return Ok(Schedule::Every(seconds.max(1)));
                }
            };
            return Self::parse(fields);
        }
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(ParseError(format!("expected exactly 5 fields, found {}: {text}", parts.len())));
        }
        let (minute, _) = field(parts[0], 0, 59, &[])?;
        let (hour, _) = field(parts[1], 0, 23, &[])?;
        let (dom, dom_star) = field(parts[2], 1, 31, &[])?;
        let (month, _) = field(parts[3], 1, 12, &MONTHS)?;
        let (dow, dow_star) = field(parts[4], 0, 6, &DAYS)?;
        Ok(Schedule::Fields(Fields { minute, hour, dom, month, dow, dom_star, dow_star }))
    }

    /// The first activation strictly after `after`, in `tz`; `None` when there is none within
    /// five years (e.g. February 30th).
    pub fn next(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let whole = Timestamp::from_second(after.as_second()).ok()?;
        match self {
            Schedule::Every(seconds) => whole.checked_add(jiff::SignedDuration::from_secs(*seconds)).ok(),
            Schedule::Fields(fields) => fields.next(whole.checked_add(1.second()).ok()?.to_zoned(tz.clone())),
        }
    }
}

impl Fields {
    fn next(&self, mut t: Zoned) -> Option<Timestamp> {
        let tz = t.time_zone().clone();
        let year_limit = t.year() + 5;
        let mut moved = false;
        let at = |date: Date, hour: i8| -> Option<Zoned> {
            DateTime::from_parts(date, jiff::civil::time(hour, 0, 0, 0)).to_zoned(tz.clone()).ok()
        };
        'wrap: loop {
            if t.year() > year_limit {
                return None;
            }
            while !bit(self.month, t.month()) {
                if !moved {
                    moved = true;
                    t = at(t.date().first_of_month(), 0)?;
                }
                t = t.checked_add(1.month()).ok()?;
                if t.month() == 1 {
                    continue 'wrap;
                }
            }
            while !self.day_matches(&t) {
                if !moved {
                    moved = true;
                    t = at(t.date(), 0)?;
                }
                t = t.checked_add(1.day()).ok()?;
                // A DST change at midnight can leave the day not starting at 00:00.
                if t.hour() != 0 {
                    let shift = if t.hour() > 12 { i64::from(24 - t.hour()) } else { -i64::from(t.hour()) };
                    t = t.checked_add(shift.hours()).ok()?;
                }
                if t.day() == 1 {
                    continue 'wrap;
                }
            }
            while !bit(self.hour, t.hour()) {
                if !moved {
                    moved = true;
                    t = at(t.date(), t.hour())?;
                }
                t = t.checked_add(1.hour()).ok()?;
                if t.hour() == 0 {
                    continue 'wrap;
                }
            }
            while !bit(self.minute, t.minute()) {
                if !moved {
                    moved = true;
                    t = t.with().second(0).subsec_nanosecond(0).build().ok()?;
                }
                t = t.checked_add(1.minute()).ok()?;
                if t.minute() == 0 {
                    continue 'wrap;
                }
            }
            if t.second() != 0 {
                // Whole minutes only: move to the next minute's start and check again.
                t = t.with().second(0).subsec_nanosecond(0).build().ok()?.checked_add(1.minute()).ok()?;
                moved = true;
                continue 'wrap;
            }
            return Some(t.timestamp());
        }
    }

    fn day_matches(&self, t: &Zoned) -> bool {
        let dom = bit(self.dom, t.day());
        let dow = bit(self.dow, t.weekday().to_sunday_zero_offset());
        if self.dom_star || self.dow_star { dom && dow } else { dom || dow }
    }
}

fn bit(set: u64, value: i8) -> bool {
    u32::try_from(value).is_ok_and(|v| v < 64 && set & (1u64 << v) != 0)
}

/// One field: its bit set, and whether it was a plain star (for the day OR/AND rule).
fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<(u64, bool), ParseError> {
    let mut set = 0u64;
    let mut star = false;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().map_err(|_| ParseError(format!("failed to parse int from {step}")))?;
                if step == 0 {
                    return Err(ParseError(format!("step of range should be a positive number: {part}")));
                }
                (range, Some(step))
            }
            None => (part, None),
        };
        let (start, end) = if range == "*" || range == "?" {
            star = step.is_none_or(|s| s == 1);
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, min)?, value(b, names, min)?)
        } else {
            let start = value(range, names, min)?;
            (start, if step.is_some() { max } else { start })
        };
        if start < min || end > max || start > end {
            return Err(ParseError(format!("value out of range ({min} - {max}): {part}")));
        }
        let step = step.unwrap_or(1);
        let mut v = start;
        while v <= end {
            set |= 1u64 << v;
            v += step;
        }
    }
    Ok((set, star))
}

fn value(text: &str, names: &[&str], min: u32) -> Result<u32, ParseError> {
    let lower = text.to_ascii_lowercase();
    if let Some(position) = names.iter().position(|n| *n == lower) {
        return Ok(u32::try_from(position).unwrap_or(0) + min);
    }
    text.parse().map_err(|_| ParseError(format!("failed to parse int from {text}")))
}

/// Go's `time.ParseDuration` (`1h30m`, `90s`, `1.5h`), in whole seconds.
fn go_duration_seconds(text: &str) -> Option<i64> {
    let mut rest = text;
    let mut nanos: f64 = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        nanos += number * scale;
        rest = &rest[unit_len..];
    }
    #[allow(clippy::cast_possible_truncation, reason = "a schedule's delay is far below i64 seconds")]
    Some((nanos / 1e9).round() as i64)
}

/// The most recent activation at or before `now` after `earliest`, and how many there were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missed {
    pub most_recent: Timestamp,
    pub count: u64,
}

/// Activations walked before giving up on counting them exactly.
const WALK_LIMIT: u64 = 200_000;

/// Upstream's `mostRecentScheduleTime`: the latest activation in `(earliest, now]`.
pub fn missed(schedule: &Schedule, earliest: Timestamp, now: Timestamp, tz: &TimeZone) -> Option<Missed> {
    let mut found: Option<Missed> = None;
    let mut t = schedule.next(earliest, tz)?;
    let mut jumped = false;
    while t <= now {
        let count = found.map_or(1, |m| m.count + 1);
        found = Some(Missed { most_recent: t, count });
        if count >= WALK_LIMIT && !jumped {
            // Far behind: only the latest matters now (the count is already "too many").
            jumped = true;
            if let Ok(window) = now.checked_sub(jiff::SignedDuration::from_hours(24 * 400))
                && window > t
            {
                match schedule.next(window, tz) {
                    Some(next) => t = next,
                    None => break,
                }
                continue;
            }
        }
        let Some(next) = schedule.next(t, tz) else { break };
        t = next;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn next_in(schedule: &str, after: &str, zone: &str) -> String {
        let tz = TimeZone::get(zone).unwrap();
        let next = Schedule::parse(schedule).unwrap().next(ts(after), &tz).unwrap();
        next.to_zoned(tz).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }

    #[test]
    fn fields_ranges_steps_lists_and_names() {
        assert_eq!(next_in("*/15 * * * *", "2025-03-01T10:07:30Z", "UTC"), "2025-03-01T10:15:00+00:00");
        assert_eq!(next_in("5,10-12 3 * * *", "2025-03-01T03:10:00Z", "UTC"), "2025-03-01T03:11:00+00:00");
        assert_eq!(next_in("0 9 * * MON-FRI", "2025-03-01T00:00:00Z", "UTC"), "2025-03-03T09:00:00+00:00");
        assert_eq!(next_in("0 0 1 jan,JUL *", "2025-03-01T00:00:00Z", "UTC"), "2025-07-01T00:00:00+00:00");
        assert_eq!(next_in("30 2/6 * * *", "2025-03-01T09:00:00Z", "UTC"), "2025-03-01T14:30:00+00:00");
        assert_eq!(next_in("* * * * *", "2025-12-31T23:59:00Z", "UTC"), "2026-01-01T00:00:00+00:00");
    }

    #[test]
    fn day_of_month_and_week_are_or_ed_unless_one_is_a_star() {
        // The 13th or any Friday: Friday 2025-03-07 comes first.
        assert_eq!(next_in("0 0 13 * 5", "2025-03-01T00:00:00Z", "UTC"), "2025-03-07T00:00:00+00:00");
        // Friday the 13th only with `*` on neither... `*` on day-of-month means every Friday.
        assert_eq!(next_in("0 0 * * 5", "2025-03-01T00:00:00Z", "UTC"), "2025-03-07T00:00:00+00:00");
        assert_eq!(next_in("0 0 13 * *", "2025-03-01T00:00:00Z", "UTC"), "2025-03-13T00:00:00+00:00");
    }

    #[test]
    fn descriptors_and_every() {
        assert_eq!(next_in("@hourly", "2025-03-01T10:07:00Z", "UTC"), "2025-03-01T11:00:00+00:00");
        assert_eq!(next_in("@daily", "2025-03-01T10:07:00Z", "UTC"), "2025-03-02T00:00:00+00:00");
        assert_eq!(next_in("@weekly", "2025-03-01T10:07:00Z", "UTC"), "2025-03-02T00:00:00+00:00");
        assert_eq!(next_in("@monthly", "2025-03-01T10:07:00Z", "UTC"), "2025-04-01T00:00:00+00:00");
        assert_eq!(next_in("@yearly", "2025-03-01T10:07:00Z", "UTC"), "2026-01-01T00:00:00+00:00");
        assert_eq!(next_in("@every 1h30m", "2025-03-01T10:07:00Z", "UTC"), "2025-03-01T11:37:00+00:00");
        assert_eq!(Schedule::parse("@every 90s"), Ok(Schedule::Every(90)));
    }

    #[test]
    fn invalid_schedules_are_refused() {
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 7",
            "*/0 * * * *",
            "@often",
            "@every x",
            "a * * * *",
            "5-3 * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(Schedule::parse("0 0 30 2 *").unwrap().next(ts("2025-01-01T00:00:00Z"), &TimeZone::UTC), None);
    }

    #[test]
    fn time_zones_and_daylight_saving() {
        // 09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
        let tz = TimeZone::get("America/New_York").unwrap();
        let nine = Schedule::parse("0 9 * * *").unwrap();
        assert_eq!(nine.next(ts("2025-03-01T00:00:00Z"), &tz), Some(ts("2025-03-01T14:00:00Z")));
        assert_eq!(nine.next(ts("2025-07-01T00:00:00Z"), &tz), Some(ts("2025-07-01T13:00:00Z")));
        // 02:30 does not exist on 2025-03-09 (spring forward): that day is skipped.
        let half_past_two = Schedule::parse("30 2 * * *").unwrap();
        assert_eq!(next_in("30 2 * * *", "2025-03-08T12:00:00Z", "America/New_York"), "2025-03-10T02:30:00-04:00");
        // 01:30 happens twice on 2025-11-02 (fall back): both run.
        let first = Schedule::parse("30 1 * * *").unwrap().next(ts("2025-11-02T04:00:00Z"), &tz).unwrap();
        assert_eq!(first, ts("2025-11-02T05:30:00Z"));
        let second = Schedule::parse("30 1 * * *").unwrap().next(first, &tz).unwrap();
        assert_eq!(second, ts("2025-11-02T06:30:00Z"));
        let _ = half_past_two;
    }

    #[test]
    fn missed_schedules_give_the_latest_and_their_count() {
        let every_minute = Schedule::parse("* * * * *").unwrap();
        let m = missed(&every_minute, ts("2025-03-01T10:00:00Z"), ts("2025-03-01T12:00:30Z"), &TimeZone::UTC).unwrap();
        assert_eq!((m.most_recent, m.count), (ts("2025-03-01T12:00:00Z"), 120));
        assert_eq!(missed(&every_minute, ts("2025-03-01T10:00:00Z"), ts("2025-03-01T10:00:59Z"), &TimeZone::UTC), None);
        let hourly = Schedule::parse("@hourly").unwrap();
        let m = missed(&hourly, ts("2025-03-01T10:00:00Z"), ts("2025-03-01T11:00:00Z"), &TimeZone::UTC).unwrap();
        assert_eq!((m.most_recent, m.count), (ts("2025-03-01T11:00:00Z"), 1));
        // A year behind on a minute schedule: the latest is still exact.
        let m = missed(&every_minute, ts("2024-03-01T10:00:00Z"), ts("2025-03-01T12:00:30Z"), &TimeZone::UTC).unwrap();
        assert_eq!(m.most_recent, ts("2025-03-01T12:00:00Z"));
        assert!(m.count > 100);
    }
}
