//! core/v1 resources.

mod configmaps;
mod data_keys;
mod namespaces;
pub mod pod_spec;
mod pods;
mod secrets;
mod services;

pub use configmaps::ConfigMaps;
pub use namespaces::Namespaces;
pub use pods::{Pods, default_pod_spec};
pub use secrets::Secrets;
pub use services::{NODE_PORTS, SERVICE_RANGE, Services};
