//! Resource quantities (`"500m"`, `"1Gi"`, `"2e3"`) as exact integers of nano-units, summed and
//! compared without floating point, and written back in upstream's canonical form (what
//! `resource.Quantity.String()` prints): the largest SI suffix that keeps an integer mantissa
//! (`"1500m"`, `"2k"`), or a power-of-1024 suffix for binary quantities (`"1Gi"`, `"1536Mi"`).

use std::cmp::Ordering;
use std::fmt;

/// Nano-units in one unit.
const NANO: i128 = 1_000_000_000;

/// How a quantity was written, which decides how it is printed (upstream's `Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `m`, `k`, `M`, ... or no suffix.
    #[default]
    DecimalSi,
    /// `Ki`, `Mi`, `Gi`, ...
    BinarySi,
}

/// An exact quantity.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl Quantity {
    /// A whole number of units (object counts), printed in decimal.
    pub fn count(n: i64) -> Self {
        Self { nanos: i128::from(n) * NANO, format: Format::DecimalSi }
    }

    /// Parses a quantity; `None` when it is not one. Digits finer than a nano-unit round up
    /// (upstream rounds requests up, so usage is never under-counted).
    ///
    /// `parse("250m")` is 0.25, `parse("1Ki")` is 1024, `parse("1.5e3")` is 1500.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (sign, unsigned) = match text.as_bytes().first()? {
            b'-' => (-1, &text[1..]),
            b'+' => (1, &text[1..]),
            _ => (1, text),
        };
        let number_end = unsigned.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(unsigned.len());
        let (number, suffix) = unsigned.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let (format, decimal_exponent, binary_power) = match suffix {
            "" => (Format::DecimalSi, 0, 0),
            "n" => (Format::DecimalSi, -9, 0),
            "u" => (Format::DecimalSi, -6, 0),
            "m" => (Format::DecimalSi, -3, 0),
            "k" => (Format::DecimalSi, 3, 0),
            "M" => (Format::DecimalSi, 6, 0),
            "G" => (Format::DecimalSi, 9, 0),
            "T" => (Format::DecimalSi, 12, 0),
            "P" => (Format::DecimalSi, 15, 0),
            "E" => (Format::DecimalSi, 18, 0),
            "Ki" => (Format::BinarySi, 0, 1),
            "Mi" => (Format::BinarySi, 0, 2),
            "Gi" => (Format::BinarySi, 0, 3),
            "Ti" => (Format::BinarySi, 0, 4),
            "Pi" => (Format::BinarySi, 0, 5),
            "Ei" => (Format::BinarySi, 0, 6),
            exponent => {
                let digits = exponent.strip_prefix(['e', 'E'])?;
                let exponent: i32 = digits.parse().ok()?;
                (Format::DecimalSi, exponent, 0)
            }
        };
        // The digits as one integer, scaled to nano-units by a power of ten.
        let digits = format!("{whole}{fraction}");
        if digits.len() > 30 {
            return None;
        }
        let mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
        let scale = decimal_exponent + 9 - i32::try_from(fraction.len()).ok()?;
        let mut nanos = if scale >= 0 {
            mantissa.checked_mul(10i128.checked_pow(u32::try_from(scale).ok()?)?)?
        } else {
            let divisor = 10i128.checked_pow(scale.unsigned_abs())?;
            mantissa / divisor + i128::from(mantissa % divisor != 0)
        };
        nanos = nanos.checked_mul(1024i128.pow(binary_power))?;
        Some(Self { nanos: sign * nanos, format })
    }

    /// Parses, or zero for what does not parse (invalid quantities never pass validation).
    pub fn parse_or_zero(text: &str) -> Self {
        Self::parse(text).unwrap_or_default()
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// Thousandths of a unit, rounded up (upstream's `MilliValue`): CPU in millicores.
    pub fn milli_value(&self) -> i64 {
        let millis = self.nanos.div_euclid(1_000_000) + i128::from(self.nanos.rem_euclid(1_000_000) != 0);
        i64::try_from(millis).unwrap_or(if millis > 0 { i64::MAX } else { i64::MIN })
    }

    /// A quantity of `millis` thousandths (upstream's `NewMilliQuantity`, decimal).
    pub fn from_milli(millis: i64) -> Self {
        Self { nanos: i128::from(millis) * 1_000_000, format: Format::DecimalSi }
    }

    /// The value as a float (for ratios such as tolerances).
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANO as f64
    }

    /// The sum, printed as the first non-zero term was written (upstream's `Add`).
    pub fn plus(self, other: Self) -> Self {
        let format = if self.nanos == 0 { other.format } else { self.format };
        Self { nanos: self.nanos.saturating_add(other.nanos), format }
    }

    /// The larger of the two (by value; the format of the larger).
    pub fn max(self, other: Self) -> Self {
        if other.nanos > self.nanos { other } else { self }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        // Binary form only for whole numbers of at least 1024 (upstream prints small or
        // fractional binary quantities in decimal so nothing is rounded).
        if self.format == Format::BinarySi && self.nanos % NANO == 0 && (self.nanos / NANO).abs() >= 1024 {
            let mut value = self.nanos / NANO;
            let mut power = 0;
            while power < 6 && value % 1024 == 0 {
                value /= 1024;
                power += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
            return write!(f, "{value}{suffix}");
        }
        let mut value = self.nanos;
        let mut step = 0;
        while step < 9 && value % 1000 == 0 {
            value /= 1000;
            step += 1;
        }
        let suffix = ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"][step];
        write!(f, "{value}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> String {
        Quantity::parse(text).unwrap().to_string()
    }

    #[test]
    fn parses_suffixes_exactly() {
        assert_eq!(Quantity::parse("250m").unwrap(), Quantity::parse("0.25").unwrap());
        assert_eq!(Quantity::parse("1Ki").unwrap(), Quantity::count(1024));
        assert_eq!(Quantity::parse("1.5e3").unwrap(), Quantity::count(1500));
        assert_eq!(Quantity::parse("2k").unwrap(), Quantity::count(2000));
        assert_eq!(Quantity::parse("-1").unwrap(), Quantity::count(-1));
        assert!(Quantity::parse("1Gi").unwrap() > Quantity::parse("1G").unwrap());
        assert_eq!(Quantity::parse("abc"), None);
        assert_eq!(Quantity::parse(""), None);
        assert_eq!(Quantity::parse("1Xi"), None);
    }

    #[test]
    fn prints_like_upstream() {
        assert_eq!(canonical("500m"), "500m");
        assert_eq!(canonical("0.5"), "500m");
        assert_eq!(canonical("1000m"), "1");
        assert_eq!(canonical("1500"), "1500");
        assert_eq!(canonical("2000"), "2k");
        assert_eq!(canonical("1Gi"), "1Gi");
        assert_eq!(canonical("1024Mi"), "1Gi");
        assert_eq!(canonical("1536Mi"), "1536Mi");
        assert_eq!(canonical("512"), "512");
        assert_eq!(canonical("0.5Ki"), "512");
        assert_eq!(canonical("0"), "0");
        assert_eq!(canonical("0Gi"), "0");
    }

    #[test]
    fn milli_values_round_up() {
        assert_eq!(Quantity::parse("250m").unwrap().milli_value(), 250);
        assert_eq!(Quantity::parse("1").unwrap().milli_value(), 1000);
        assert_eq!(Quantity::parse("1n").unwrap().milli_value(), 1);
        assert_eq!(Quantity::parse("64Mi").unwrap().milli_value(), 64 * 1024 * 1024 * 1000);
        assert_eq!(Quantity::from_milli(1500).to_string(), "1500m");
        assert!((Quantity::parse("0.05").unwrap().as_f64() - 0.05).abs() < 1e-12);
    }

    #[test]
    fn sums_keep_the_first_non_zero_format() {
        let sum = Quantity::default().plus(Quantity::parse("512Mi").unwrap()).plus(Quantity::parse("512Mi").unwrap());
        assert_eq!(sum.to_string(), "1Gi");
        let cpu = Quantity::parse("250m").unwrap().plus(Quantity::parse("1").unwrap());
        assert_eq!(cpu.to_string(), "1250m");
        let mixed = Quantity::parse("1G").unwrap().plus(Quantity::parse("1Gi").unwrap());
        assert_eq!(mixed.to_string(), "2073741824");
    }
}
