//! # apiserver-http: the Kubernetes HTTP surface
//!
//! ```text
//! server.rs (TLS accept, HTTP/1.1 + HTTP/2) → handlers.rs (health/version, authn.rs, discovery.rs,
//!   openapi/, request_info.rs → one function per verb over apiserver-registry)
//! ```
//! Bodies come in as JSON, YAML or protobuf (`body.rs`, `apiserver-protobuf`); answers go out as
//! JSON, YAML, Tables (`table/`, one file per API group) or PartialObjectMetadata.
//! `tls.rs` creates the cluster PKI (CA, serving and admin certificates, admin token) on first
//! start and builds the rustls configuration. `resource_metrics.rs` serves `metrics.k8s.io`
//! (`kubectl top`, the HPA) from an in-memory table the node agents push to.

pub mod authn;
pub mod body;
pub mod discovery;
pub mod handlers;
pub mod metrics;
pub mod openapi;
pub mod partial_metadata;
pub mod request_info;
pub mod resource_metrics;
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
