//! Label and field selectors (`labelSelector`, `fieldSelector` query parameters).

pub mod fields;
pub mod labels;

pub use fields::{FieldRequirement, FieldSelector, FieldSelectorError};
pub use labels::{LabelSelector, LabelSelectorError, Operator, Requirement};
