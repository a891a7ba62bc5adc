//! Field errors and paths, as upstream's `field.ErrorList`: validation collects every problem
//! with the path of the field it concerns, then one 422 reports them all.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::StatusCause;

/// A field path: `spec.template.spec.containers[0].image`, `metadata.labels[app]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    /// A path starting at a top-level field.
    pub fn new(root: &str) -> Self {
        Self(root.to_string())
    }

    /// The path of a child field.
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() { Self::new(name) } else { Self(format!("{}.{name}", self.0)) }
    }

    /// The path of a list element.
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// The path of a map entry.
    pub fn key(&self, key: &str) -> Self {
        Self(format!("{}[{key}]", self.0))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Path {
    fn from(path: &str) -> Self {
        Self::new(path)
    }
}

impl From<&Path> for Path {
    fn from(path: &Path) -> Self {
        path.clone()
    }
}

/// A bad value as upstream prints it: strings quoted, numbers and booleans bare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue(String);

impl From<&str> for FieldValue {
    fn from(value: &str) -> Self {
        Self(serde_json::to_string(value).expect("strings serialise"))
    }
}

impl From<&String> for FieldValue {
    fn from(value: &String) -> Self {
        Self::from(value.as_str())
    }
}

impl From<String> for FieldValue {
    fn from(value: String) -> Self {
        Self::from(value.as_str())
    }
}

impl FieldValue {
    /// A value printed as is, unquoted: what upstream prints for a struct (`%#v`) or a list.
    pub fn raw(text: impl Into<String>) -> Self {
        Self(text.into())
    }
}

macro_rules! bare_field_values {
    ($($t:ty),*) => {$(
        impl From<$t> for FieldValue {
            fn from(value: $t) -> Self {
                Self(value.to_string())
            }
        }
    )*};
}
bare_field_values!(i32, i64, u32, u64, usize, bool);

/// What is wrong with a field (upstream's `field.ErrorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorType {
    /// A required field is missing.
    Required,
    /// The value is malformed or out of range.
    Invalid,
    /// The value is not one of the supported ones.
    NotSupported,
    /// The value appears twice where it must be unique.
    Duplicate,
    /// The field may not be set (or changed) here.
    Forbidden,
    /// The value is too long.
    TooLong,
    /// The list has too many items.
    TooMany,
    /// A referenced thing does not exist.
    NotFound,
}

impl FieldErrorType {
    /// The cause `reason` in a Status.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::NotFound => "FieldValueNotFound",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::Required => "Required value",
            Self::Invalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Duplicate => "Duplicate value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::NotFound => "Not found",
        }
    }
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// What kind of problem.
    pub kind: FieldErrorType,
    /// Which field.
    pub field: Path,
    /// The offending value, when it is worth repeating.
    pub value: Option<FieldValue>,
    /// A human explanation.
    pub detail: String,
}

impl FieldError {
    fn new(kind: FieldErrorType, field: impl Into<Path>, value: Option<FieldValue>, detail: impl Into<String>) -> Self {
        Self { kind, field: field.into(), value, detail: detail.into() }
    }

    /// `field: Required value: detail`.
    pub fn required(field: impl Into<Path>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Required, field, None, detail)
    }

    /// `field: Invalid value: "v": detail`.
    pub fn invalid(field: impl Into<Path>, value: impl Into<FieldValue>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Invalid, field, Some(value.into()), detail)
    }

    /// `field: Unsupported value: "v": supported values: "a", "b"`.
    pub fn not_supported(field: impl Into<Path>, value: impl Into<FieldValue>, supported: &[&str]) -> Self {
        let supported = supported.iter().map(|s| FieldValue::from(*s).0).collect::<Vec<_>>().join(", ");
        Self::new(FieldErrorType::NotSupported, field, Some(value.into()), format!("supported values: {supported}"))
    }

    /// `field: Duplicate value: "v"`.
    pub fn duplicate(field: impl Into<Path>, value: impl Into<FieldValue>) -> Self {
        Self::new(FieldErrorType::Duplicate, field, Some(value.into()), "")
    }

    /// `field: Forbidden: detail`.
    pub fn forbidden(field: impl Into<Path>, detail: impl Into<String>) -> Self {
        Self::new(FieldErrorType::Forbidden, field, None, detail)
    }

    /// `field: Too long: may not be more than N bytes`.
    pub fn too_long(field: impl Into<Path>, max: usize) -> Self {
        Self::new(FieldErrorType::TooLong, field, None, format!("may not be more than {max} bytes"))
    }

    /// `field: Too many: N: must have at most M items`.
    pub fn too_many(field: impl Into<Path>, actual: usize, max: usize) -> Self {
        Self::new(FieldErrorType::TooMany, field, Some(actual.into()), format!("must have at most {max} items"))
    }

    /// `field: Not found: "v"`.
    pub fn not_found(field: impl Into<Path>, value: impl Into<FieldValue>) -> Self {
        Self::new(FieldErrorType::NotFound, field, Some(value.into()), "")
    }

    /// The message without the field path (a Status cause's `message`).
    pub fn body(&self) -> String {
        let mut body = self.kind.text().to_string();
        if let Some(value) = &self.value {
            body.push_str(": ");
            body.push_str(&value.0);
        }
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }

    /// This error as a Status cause.
    pub fn cause(&self) -> StatusCause {
        StatusCause {
            field: Some(self.field.to_string()),
            message: Some(self.body()),
            reason: Some(self.kind.reason().to_string()),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// Every field error found, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Adds one error.
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Whether nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The errors.
    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }
}

impl Extend<FieldError> for FieldErrors {
    fn extend<T: IntoIterator<Item = FieldError>>(&mut self, iter: T) {
        self.0.extend(iter);
    }
}

impl IntoIterator for FieldErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<FieldError> for FieldErrors {
    fn from_iter<T: IntoIterator<Item = FieldError>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// One error prints alone, several as `[a, b]` (upstream's aggregate).
impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => Ok(()),
            [one] => write!(f, "{one}"),
            many => {
                f.write_str("[")?;
                for (i, e) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str("]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_compose_like_upstream() {
        let containers = Path::new("spec").child("template").child("spec").child("containers");
        assert_eq!(containers.index(0).child("image").to_string(), "spec.template.spec.containers[0].image");
        assert_eq!(Path::new("metadata").child("labels").key("app").to_string(), "metadata.labels[app]");
    }

    #[test]
    fn messages_quote_strings_and_not_numbers() {
        assert_eq!(
            FieldError::invalid("metadata.name", "Bad_Name", "a lowercase RFC 1123 subdomain...").to_string(),
            "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain..."
        );
        assert_eq!(FieldError::invalid("spec.replicas", -1, "x").body(), "Invalid value: -1: x");
        assert_eq!(FieldError::required("spec.selector", "").to_string(), "spec.selector: Required value");
        assert_eq!(
            FieldError::not_supported("spec.type", "Magic", &["ClusterIP", "NodePort"]).body(),
            "Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"NodePort\""
        );
        assert_eq!(FieldError::duplicate("spec.ports[1].name", "http").body(), "Duplicate value: \"http\"");
    }
}
