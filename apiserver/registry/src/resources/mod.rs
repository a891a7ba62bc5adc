//! One strategy per resource, by API group (`core/`, later `apps/`, `batch/`, ...).

pub mod core;

use std::sync::Arc;

use crate::strategy::Strategy;

/// Every strategy implemented so far.
pub fn all() -> Vec<Arc<dyn Strategy>> {
    vec![Arc::new(core::Namespaces), Arc::new(core::ConfigMaps), Arc::new(core::Secrets)]
}
