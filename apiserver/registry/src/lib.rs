//! # apiserver-registry: one generic registry, one strategy per resource
//!
//! Every resource goes through the same create / get / list / update / delete code
//! ([`Registry`]); what differs between resources (defaulting, validation, what a client may
//! change, what blocks deletion, selectable fields) is a [`Strategy`] in `resources/<group>/`.
//! Objects are JSON (`serde_json`), checked against their k8s-openapi type, stored in
//! `apiserver-store` under `/registry/<group>/<plural>/[<namespace>/]<name>` with the store
//! revision as their `resourceVersion`. Errors leave as `metav1.Status` ([`ApiError`]).
//!
//! [`ApiError`]: apiserver_machinery::ApiError

pub mod admission;
mod claims;
pub mod fields;
mod keys;
mod managed;
pub mod metadata;
pub mod object;
pub mod patch;
mod pod_actions;
mod pruned;
mod raw;
mod registry;
pub mod resources;
mod scale;
pub mod schema;
mod shape;
pub mod strategy;
mod watch;

pub use patch::PatchType;
pub use registry::{Applied, DeleteOptions, Deleted, ListOptions, Propagation, Registry, WriteOptions};
pub use strategy::Strategy;
pub use watch::{EventStream, INITIAL_EVENTS_END, WatchEvent, WatchOptions};
