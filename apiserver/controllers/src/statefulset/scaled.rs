//! `IntOrString` budgets (`maxUnavailable: 25%`) resolved against a total, as upstream's
//! `intstr.GetScaledValueFromIntOrPercent`.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The absolute value of `value` for `total` (percentages rounded up or down); `None` for a
/// malformed string.
pub fn scaled(value: &IntOrString, total: i32, round_up: bool) -> Option<i32> {
    match value {
        IntOrString::Int(n) => Some(*n),
        IntOrString::String(text) => {
            let percent: i64 = text.strip_suffix('%')?.trim().parse().ok()?;
            let product = percent * i64::from(total);
            let value = if round_up { (product + 99).div_euclid(100) } else { product.div_euclid(100) };
            i32::try_from(value).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_as_asked() {
        assert_eq!(scaled(&IntOrString::Int(3), 10, false), Some(3));
        assert_eq!(scaled(&IntOrString::String("25%".into()), 10, false), Some(2));
        assert_eq!(scaled(&IntOrString::String("25%".into()), 10, true), Some(3));
        assert_eq!(scaled(&IntOrString::String("100%".into()), 7, true), Some(7));
        assert_eq!(scaled(&IntOrString::String("x".into()), 7, true), None);
    }
}
