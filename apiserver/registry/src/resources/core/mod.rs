//! core/v1 resources.

mod configmaps;
mod data_keys;
mod namespaces;
mod secrets;

pub use configmaps::ConfigMaps;
pub use namespaces::Namespaces;
pub use secrets::Secrets;
