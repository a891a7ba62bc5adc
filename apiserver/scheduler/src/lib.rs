//! Not built yet: the scheduler's entry point, so the `apiserver` binary can wire it.

/// What the scheduler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("API call failed: {0}")]
    Api(#[from] kube::Error),
}

/// Scheduler settings.
#[derive(Debug, Clone, Default)]
pub struct SchedulerOptions {}

/// Runs the scheduler until dropped.
pub async fn run(_client: kube::Client, _options: SchedulerOptions) -> Result<(), Error> {
    std::future::pending().await
}
