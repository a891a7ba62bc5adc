//! # apiserver-http: the Kubernetes HTTP surface
//!
//! ```text
//! server.rs (TLS accept, HTTP/1.1 + HTTP/2) → handlers.rs (health/version, authn.rs, discovery.rs,
//!   openapi/, request_info.rs → one function per verb over apiserver-registry)
//! ```
//! Bodies come in as JSON, YAML or protobuf (`body.rs`, `apiserver-protobuf`); answers go out as
//! JSON, YAML, Tables (`table/`, one file per API group) or PartialObjectMetadata.
//! `tls.rs` creates the cluster PKI (CA, serving and admin certificates, admin token) on first
//! start and builds the rustls configuration. `serviceaccount_token/` issues service account
//! tokens (`serviceaccounts/{name}/token`) and authenticates them. `resource_metrics.rs` serves
//! `metrics.k8s.io` (`kubectl top`, the HPA) from an in-memory table the node agents push to. `event_ttl.rs` is
//! a background task: it deletes Events older than `--event-ttl`.

pub mod authn;
pub mod body;
pub mod discovery;
pub mod event_ttl;
pub mod handlers;
pub mod metrics;
pub mod openapi;
pub mod partial_metadata;
pub mod request_info;
pub mod resource_metrics;
pub mod reviews;
pub mod server;
pub mod serviceaccount_token;
pub mod table;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;

pub use authn::{Authenticator, User};
pub use handlers::Api;
pub use server::serve;
pub use serviceaccount_token::{ServiceAccountTokens, TokenOptions};
pub use tls::Pki;
