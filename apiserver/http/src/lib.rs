//! # apiserver-http: the Kubernetes HTTP surface
//!
//! ```text
//! server.rs (TLS accept, HTTP/1.1 + HTTP/2) → handlers.rs (health/version, authn.rs, discovery.rs,
//!   request_info.rs → one function per verb over apiserver-registry, table.rs for `kubectl get`)
//! ```
//! `tls.rs` creates the cluster PKI (CA, serving and admin certificates, admin token) on first
//! start and builds the rustls configuration.

pub mod authn;
pub mod body;
pub mod discovery;
pub mod handlers;
pub mod metrics;
pub mod openapi;
pub mod partial_metadata;
pub mod request_info;
pub mod reviews;
pub mod server;
pub mod table;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use authn::{Authenticator, User};
pub use handlers::Api;
pub use server::serve;
pub use tls::Pki;
