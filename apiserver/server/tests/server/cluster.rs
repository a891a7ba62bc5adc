//! The control-plane test harness: the `apiserver` binary (controllers and scheduler in-process,
//! as users run it), a kube-rs client, real kubectl, and simulated nodes from the node agent's
//! library (a real API client over HTTPS, in this test process so a test can stop one).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::Server;

/// A running cluster for one test: keep it alive for the test's duration.
pub struct Cluster {
    pub server: Server,
    pub client: Client,
    kubectl: Option<PathBuf>,
    /// Nodes started so far: each agent gets its own slice of pod CIDRs and addresses.
    nodes_started: std::sync::atomic::AtomicUsize,
    _data: tempfile::TempDir,
}

impl Cluster {
    /// Starts the API server with its in-process controllers and scheduler.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts the API server with extra flags.
    pub async fn start_with(args: &[&str]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let server = Server::start_with(data.path(), args);
        let client = client(&server.kubeconfig).await;
        Self {
            server,
            client,
            kubectl: apiserver_http::testing::kubectl_binary(),
            nodes_started: Default::default(),
            _data: data,
        }
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.server.kubeconfig
    }

    /// Real kubectl v1.35 against this cluster; `None` when it is not installed (outside CI).
    pub fn kubectl(&self, args: &[&str]) -> Option<String> {
        let kubectl = self.kubectl.as_ref()?;
        let out = Command::new(kubectl).arg("--kubeconfig").arg(self.kubeconfig()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8(out.stdout).unwrap())
    }

    /// Starts `count` simulated nodes named `{prefix}-{i}`; abort the task to stop them
    /// (their heartbeats stop, as when a machine dies).
    pub fn simulated_nodes(&self, prefix: &str, count: usize) -> tokio::task::JoinHandle<()> {
        self.simulated_nodes_with(prefix, count, |_| {})
    }

    /// [`Self::simulated_nodes`] with adjusted options (heartbeat intervals, capacity...).
    pub fn simulated_nodes_with(
        &self,
        prefix: &str,
        count: usize,
        adjust: impl FnOnce(&mut node_agent::simulated::SimulatedOptions),
    ) -> tokio::task::JoinHandle<()> {
        let index_offset = self.nodes_started.fetch_add(count, std::sync::atomic::Ordering::SeqCst);
        let mut options = node_agent::simulated::SimulatedOptions {
            nodes: count,
            name_prefix: prefix.to_string(),
            index_offset,
            ..Default::default()
        };
        adjust(&mut options);
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(err) = node_agent::simulated::run(client, options).await {
                panic!("simulated nodes failed: {err}");
            }
        })
    }
}

/// A failing test shows the cluster as it was: nodes, pods with their conditions, events.
impl Drop for Cluster {
    fn drop(&mut self) {
        let Some(kubectl) = self.kubectl.as_ref().filter(|_| std::thread::panicking()) else { return };
        for args in [
            &["get", "nodes", "-o", "wide"][..],
            &["get", "pods", "-A", "-o", "wide"],
            &[
                "get",
                "pods",
                "-A",
                "-o",
                "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,PHASE:.status.phase,CONDITIONS:.status.conditions[*].type,STATUS:.status.conditions[*].status",
            ],
            &["get", "events", "-A", "--sort-by=.lastTimestamp"],
        ] {
            if let Ok(out) = Command::new(kubectl).arg("--kubeconfig").arg(self.kubeconfig()).args(args).output() {
                eprintln!(
                    "--- kubectl {}\n{}{}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

/// An admin kube-rs client from a kubeconfig.
pub async fn client(kubeconfig: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    Client::try_from(config).unwrap()
}

/// Polls `check` every 50 ms until it returns `Some`, for up to `timeout`; panics with `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
