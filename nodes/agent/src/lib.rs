//! Not built yet: the node agent's entry points, so tests can wire them.

/// What the node agent can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("API call failed: {0}")]
    Api(#[from] kube::Error),
}

pub mod simulated {
    /// Simulated nodes' settings.
    #[derive(Debug, Clone, Default)]
    pub struct SimulatedOptions {
        pub nodes: usize,
        pub name_prefix: String,
    }

    /// Registers the nodes and runs them until dropped.
    pub async fn run(_client: kube::Client, _options: SimulatedOptions) -> Result<(), crate::Error> {
        std::future::pending().await
    }
}
