//! # apiserver-machinery: sans-IO API machinery
//!
//! The parts of the Kubernetes API contract that are pure functions of their input, kept apart
//! from HTTP and storage so they can be tested exhaustively and reused by every layer:
//!
//! | module | upstream counterpart | what |
//! |---|---|---|
//! | [`status`] | `api/errors` | `metav1.Status` for every failure: code, reason, message, causes |
//! | [`field`] | `util/validation/field` | field paths and field errors (the causes of a 422) |
//! | [`names`] | `util/validation` | DNS-1123/1035 names, qualified names, label values |
//! | [`selectors`] | `labels`, `fields` | `labelSelector` / `fieldSelector` parsing and matching |
//! | [`continue_token`] | `storage` continue keys | list continuation tokens |
//! | [`resource_version`] | `ValidateListOptions`, etcd3 store | what revision a list/get reads at |
//! | [`resources`] | each registry's discovery facts | the table of served resources |
//!
//! No tokio, no hyper, no RocksDB here.

pub mod continue_token;
pub mod field;
pub mod names;
pub mod quantity;
pub mod resource_version;
pub mod resources;
pub mod selectors;
pub mod status;

pub use status::{ApiError, GroupKind, GroupResource};
