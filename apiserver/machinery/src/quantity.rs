//! Kubernetes quantities (`"250m"`, `"64Mi"`, `"1e3"`) as exact non-negative integers: the
//! usage the node agents report (from the simulated runtime's annotations) and the usage the
//! resource metrics API accepts, parsed by this one function on both sides; [`signed`] reads
//! either sign for the registry's validation, which compares quantities and rejects negative ones.

/// A non-negative quantity in units of 10^-`scale` (9: nanocores from cores; 0: bytes),
/// rounded up; `None` if it does not parse, is negative or does not fit in a u64.
///
/// `parse("250m", 9) == Some(250_000_000)`, `parse("64Mi", 0) == Some(67_108_864)`.
pub fn parse(text: &str, scale: i32) -> Option<u64> {
    let text = text.trim();
    u64::try_from(magnitude(text.strip_prefix('+').unwrap_or(text), scale)?).ok()
}

/// A quantity of either sign (`"-1Gi"`) in units of 10^-`scale`, its magnitude rounded up;
/// `None` if it does not parse or does not fit in an i128. For validation, which compares
/// and rejects negative values rather than refusing to read them.
pub fn signed(text: &str, scale: i32) -> Option<i128> {
    let text = text.trim();
    match text.strip_prefix('-') {
        Some(negative) => i128::try_from(magnitude(negative, scale)?).ok().map(|m| -m),
        None => i128::try_from(magnitude(text.strip_prefix('+').unwrap_or(text), scale)?).ok(),
    }
}

/// The magnitude of an unsigned quantity text in units of 10^-`scale`, rounded up.
fn magnitude(text: &str, scale: i32) -> Option<u128> {
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || whole.len() + fraction.len() > 30 || fraction.contains('.') {
        return None;
    }
    let digits: u128 = format!("{whole}{fraction}").parse().ok()?;
    let (exponent, binary_shift): (i32, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        other => (other.strip_prefix(['e', 'E'])?.parse::<i32>().ok().filter(|e| e.abs() <= 40)?, 0),
    };
    let value = digits.checked_mul(1u128 << binary_shift)?;
    let power = exponent + scale - i32::try_from(fraction.len()).ok()?;
    let scaled = if power >= 0 {
        value.checked_mul(10u128.checked_pow(power.unsigned_abs())?)?
    } else {
        value.div_ceil(10u128.checked_pow(power.unsigned_abs())?)
    };
    Some(scaled)
}

/// CPU in nanocores.
pub fn nanocores(text: &str) -> Option<u64> {
    parse(text, 9)
}

/// Bytes (or any whole unit).
pub fn bytes(text: &str) -> Option<u64> {
    parse(text, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory() {
        assert_eq!(nanocores("250m"), Some(250_000_000));
        assert_eq!(nanocores("1.5"), Some(1_500_000_000));
        assert_eq!(nanocores("100n"), Some(100));
        assert_eq!(bytes("64Mi"), Some(64 << 20));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("2e3"), Some(2000));
        assert_eq!(bytes("0.5"), Some(1), "rounded up");
    }

    #[test]
    fn signed_values() {
        assert_eq!(signed("-1Gi", 0), Some(-(1 << 30)));
        assert_eq!(signed("+500m", 3), Some(500));
        assert_eq!(signed("1Ei", 9), Some((1i128 << 60) * 1_000_000_000));
        assert_eq!(signed("--1", 0), None);
        assert_eq!(signed("abc", 0), None);
    }

    #[test]
    fn garbage_and_negative_values_do_not_parse() {
        for bad in ["", "x", "-1", "1Zi", "1.2.3", "1e500"] {
            assert_eq!(bytes(bad), None, "{bad:?}");
        }
    }
}
