//! core/v1 resources.

mod configmaps;
mod data_keys;
mod namespaces;
mod pods;
mod secrets;

pub use configmaps::ConfigMaps;
pub use namespaces::Namespaces;
pub use pods::Pods;
pub use secrets::Secrets;
