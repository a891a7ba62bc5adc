//! The agent's errors.

use crate::addresses::OutOfAddresses;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("registering node {node}: {source}")]
    Register {
        node: String,
        #[source]
        source: kube::Error,
    },
    #[error("creating the lease of node {node}: {source}")]
    Lease {
        node: String,
        #[source]
        source: kube::Error,
    },
    #[error(transparent)]
    Addresses(#[from] OutOfAddresses),
    #[error("building an API object: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the container runtime stopped")]
    RuntimeStopped,
    #[error("the {0} runtime is not implemented yet")]
    NotImplemented(String),
}
