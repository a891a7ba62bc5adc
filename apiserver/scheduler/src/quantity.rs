//! Resource quantities (`"500m"`, `"1Gi"`, `"2e3"`) as integers: CPU in millicores, everything
//! else in whole units. Rounded up, as upstream's `MilliValue`/`Value` do, so a request is
//! never under-counted.

/// The value of `quantity` in units of `1 / scale` (scale 1000 gives milli-units), rounded up;
/// `None` when it does not parse.
///
/// `parse_scaled("250m", 1000) == Some(250)`, `parse_scaled("1Ki", 1) == Some(1024)`.
pub fn parse_scaled(quantity: &str, scale: f64) -> Option<i64> {
    let quantity = quantity.trim();
    let split =
        quantity.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let number: f64 = number.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent => {
            let digits = exponent.strip_prefix('e').or_else(|| exponent.strip_prefix('E'))?;
            10f64.powi(digits.parse().ok()?)
        }
    };
    let value = number * multiplier * scale;
    // Tolerate float noise ("0.1" * 1000 = 100.00000000000001) before rounding up.
    let rounded = if (value - value.round()).abs() < 1e-6 { value.round() } else { value.ceil() };
    (rounded.is_finite() && rounded.abs() < 9.2e18).then_some(rounded as i64)
}

/// Millicores of a CPU quantity.
pub fn milli(quantity: &str) -> Option<i64> {
    parse_scaled(quantity, 1000.0)
}

/// Whole units (bytes, counts) of a quantity.
pub fn units(quantity: &str) -> Option<i64> {
    parse_scaled(quantity, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_in_millicores() {
        assert_eq!(milli("250m"), Some(250));
        assert_eq!(milli("2"), Some(2000));
        assert_eq!(milli("0.1"), Some(100));
        assert_eq!(milli("1.5"), Some(1500));
        assert_eq!(milli("100u"), Some(1), "rounded up");
    }

    #[test]
    fn parses_binary_decimal_and_exponent_suffixes() {
        assert_eq!(units("1Ki"), Some(1024));
        assert_eq!(units("1Gi"), Some(1 << 30));
        assert_eq!(units("128974848"), Some(128_974_848));
        assert_eq!(units("129e6"), Some(129_000_000));
        assert_eq!(units("123M"), Some(123_000_000));
        assert_eq!(units("110"), Some(110));
        assert_eq!(units("1E"), Some(1_000_000_000_000_000_000));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(units("abc"), None);
        assert_eq!(units("1Xi"), None);
        assert_eq!(units(""), None);
    }
}
