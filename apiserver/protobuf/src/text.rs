//! The text forms Go's JSON encoder gives Kubernetes values: RFC 3339 timestamps, Go
//! duration strings and standard base64.

use std::fmt::Write as _;

/// Unix seconds (plus microseconds, for MicroTime) as RFC 3339 in UTC:
/// `2024-05-01T12:00:00Z` or `2024-05-01T12:00:00.000123Z`. `None` outside years 0–9999.
pub(crate) fn rfc3339(seconds: i64, micros: Option<u32>) -> Option<String> {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let mut out =
        format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", of_day / 3600, of_day / 60 % 60, of_day % 60);
    if let Some(micros) = micros {
        let _ = write!(out, ".{micros:06}");
    }
    out.push('Z');
    Some(out)
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Nanoseconds as Go's `time.Duration.String()`: `0s`, `1.5s`, `1h2m3s`, `300ms`, `2µs`.
pub(crate) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if nanos < 0 {
        out.push('-');
    }
    let n = nanos.unsigned_abs();
    if n < 1_000_000_000 {
        let (scale, unit) = match n {
            0..1_000 => (1, "ns"),
            1_000..1_000_000 => (1_000, "µs"),
            _ => (1_000_000, "ms"),
        };
        push_fraction(&mut out, n, scale);
        out.push_str(unit);
        return out;
    }
    let seconds = n / 1_000_000_000;
    let (hours, minutes) = (seconds / 3600, seconds / 60 % 60);
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if hours > 0 || minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    push_fraction(&mut out, seconds % 60 * 1_000_000_000 + n % 1_000_000_000, 1_000_000_000);
    out.push('s');
    out
}

/// `value / scale` with the remainder as decimal digits, trailing zeros dropped.
fn push_fraction(out: &mut String, value: u64, scale: u64) {
    let _ = write!(out, "{}", value / scale);
    let remainder = value % scale;
    if remainder > 0 {
        let width = scale.ilog10() as usize;
        let digits = format!("{remainder:0width$}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Standard base64 with padding, as Go's `encoding/json` writes `[]byte`.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_in_utc() {
        assert_eq!(rfc3339(0, None).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(rfc3339(1_709_251_199, None).as_deref(), Some("2024-02-29T23:59:59Z"));
        assert_eq!(rfc3339(951_782_400, None).as_deref(), Some("2000-02-29T00:00:00Z"));
        assert_eq!(rfc3339(-1, None).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(rfc3339(1_700_000_000, Some(42)).as_deref(), Some("2023-11-14T22:13:20.000042Z"));
        assert_eq!(rfc3339(253_402_300_799, None).as_deref(), Some("9999-12-31T23:59:59Z"));
        assert_eq!(rfc3339(-62_167_219_200, None).as_deref(), Some("0000-01-01T00:00:00Z"));
        assert_eq!(rfc3339(253_402_300_800, None), None);
        assert_eq!(rfc3339(i64::MIN, None), None);
        assert_eq!(rfc3339(i64::MAX, None), None);
    }

    #[test]
    fn go_durations() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (1_500_000_000, "1.5s"),
            (60_000_000_000, "1m0s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_000_000_001, "1h2m3.000000001s"),
            (-90_000_000_000, "-1m30s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(go_duration(nanos), text, "{nanos}");
        }
    }

    #[test]
    fn base64_with_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }
}
