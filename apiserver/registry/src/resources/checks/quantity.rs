//! Resource quantities in validation: read with either sign (upstream decodes any quantity and
//! lets validation refuse negative ones), compared exactly, and shown as the client wrote them.

use std::cmp::Ordering;

use apiserver_machinery::field::{FieldError, FieldErrors, Path};
use apiserver_machinery::quantity;
use serde_json::Value;

use super::NEGATIVE;

/// What upstream's decoder says of a quantity that does not parse (a 400 there; one field error
/// among the others here).
pub const MALFORMED: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// Nano-units: exact for every suffix and for milli-precision quantities.
const SCALE: i32 = 9;
const ONE: i128 = 1_000_000_000;

/// A parsed quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    /// The value in units of 10^-9.
    nanos: i128,
    /// The text the client wrote (what messages show).
    text: String,
}

impl Quantity {
    /// A quantity text, or `None` when it does not parse.
    pub fn parse(text: &str) -> Option<Self> {
        Some(Self { nanos: quantity::signed(text, SCALE)?, text: text.trim().to_string() })
    }

    /// The quantity at `value` (a string, or a bare number as JSON allows), or the error of a
    /// malformed one.
    pub fn read(value: &Value, path: &Path, errors: &mut FieldErrors) -> Option<Self> {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        let parsed = Self::parse(&text);
        if parsed.is_none() {
            errors.push(FieldError::invalid(path, text.as_str(), MALFORMED));
        }
        parsed
    }

    /// The text as the client wrote it ("0" for any zero, as upstream prints one).
    pub fn text(&self) -> &str {
        if self.nanos == 0 { "0" } else { &self.text }
    }

    /// The value in units of 10^-9 (equal for equal quantities, however written).
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// Whether the quantity is below zero.
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Whether the quantity is above zero.
    pub fn is_positive(&self) -> bool {
        self.nanos > 0
    }

    /// Whether it is a whole number (upstream: `MilliValue() % 1000 == 0`).
    pub fn is_integer(&self) -> bool {
        self.nanos % ONE == 0
    }

    /// The value in thousandths, as upstream's `MilliValue` (rounded up).
    pub fn milli(&self) -> i128 {
        self.nanos.div_euclid(1_000_000) + i128::from(self.nanos.rem_euclid(1_000_000) != 0)
    }
}

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

/// `ValidateNonnegativeQuantity`.
pub fn non_negative(errors: &mut FieldErrors, path: &Path, value: &Quantity) {
    if value.is_negative() {
        errors.push(FieldError::invalid(path, value.text(), NEGATIVE));
    }
}

/// `ValidatePositiveQuantityValue`.
pub fn positive(errors: &mut FieldErrors, path: &Path, value: &Quantity) {
    if !value.is_positive() {
        errors.push(FieldError::invalid(path, value.text(), "must be greater than zero"));
    }
}

/// Upstream's `standardResources`: the resource names that need no prefix.
const STANDARD_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];

/// Upstream's `IsStandardResourceName`: a standard name, or a huge-pages one (also as a request).
pub fn is_standard_resource(name: &str) -> bool {
    STANDARD_RESOURCES.contains(&name) || name.starts_with("hugepages-") || name.starts_with("requests.hugepages-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap()
    }

    #[test]
    fn compares_across_suffixes() {
        assert!(q("1Gi") > q("1G"));
        assert!(q("500m") < q("1"));
        assert_eq!(q("1k").cmp(&q("1000")), Ordering::Equal);
        assert!(q("-1") < q("0"));
        assert!(q("1.5").is_positive() && !q("1.5").is_integer());
        assert!(q("2e3").is_integer());
        assert_eq!(q("0Gi").text(), "0");
        assert_eq!(q("1500m").milli(), 1500);
        assert_eq!(q("1n").milli(), 1);
    }

    #[test]
    fn malformed_quantities_are_field_errors() {
        let mut errors = FieldErrors::default();
        assert!(Quantity::read(&Value::from("ten"), &Path::new("spec.hard[cpu]"), &mut errors).is_none());
        assert_eq!(errors.iter().next().unwrap().field.to_string(), "spec.hard[cpu]");
        assert!(Quantity::read(&Value::from(3), &Path::new("x"), &mut errors).is_some());
    }
}
