//! The seam between the generic pod worker and whatever runs containers.
//!
//! The worker decides *what* should happen (create the sandbox, start container `c` for the
//! n-th time, stop the pod within its grace period); a runtime makes it happen and reports back
//! what did happen as [`RuntimeEvent`]s on the channel it was built with. Calls never block:
//! the worker is the only reader of that channel, so a runtime that waited on the worker from
//! inside a call could deadlock it. `simulated` decides timings and exit codes itself; a
//! `docker` runtime (later) will drive real containers behind the same trait.
//! [`Runtime::usage`] is the one query: the pod worker asks it for running pods' resource
//! usage, which the metrics reporter (`crate::metrics`) pushes to `metrics.k8s.io`.

pub mod simulated;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

/// A pod as runtimes know it: by uid (names can be reused, uids cannot).
pub type PodUid = Arc<str>;

/// One start of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRun {
    pub pod: PodUid,
    pub container: Arc<str>,
    /// 0 for the first start, +1 per restart: events about an older attempt are stale.
    pub attempt: u32,
    /// An init container (runs to completion before the app containers start).
    pub init: bool,
}

/// What happened in the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeEvent {
    /// The pod's sandbox (network namespace, IP) exists; containers may start.
    SandboxReady { pod: PodUid },
    /// A container is running.
    Started { run: ContainerRun, at: Timestamp },
    /// A container ended, by itself or because the pod was stopped.
    Exited { run: ContainerRun, exit_code: i32, at: Timestamp },
}

/// What one running container uses right now: a level, reported as the metrics API's usage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ContainerUsage {
    /// CPU in nanocores (1 core = 1,000,000,000).
    pub cpu_nanocores: u64,
    /// Memory (working set) in bytes.
    pub memory_bytes: u64,
}

/// A container runtime behind the pod worker. Every method returns at once; outcomes arrive
/// later as [`RuntimeEvent`]s.
pub trait Runtime: Send + Sync + 'static {
    /// `containerRuntimeVersion` for the Node, e.g. `simulated://0.1`.
    fn version(&self) -> String;
    /// Prepares the pod's sandbox; reports [`RuntimeEvent::SandboxReady`].
    fn create_sandbox(&self, pod: &Pod);
    /// Starts one container in a ready sandbox; reports `Started`, and `Exited` when it ends.
    fn start_container(&self, run: ContainerRun);
    /// Stops every running container of the pod within `grace`; reports `Exited` for each.
    fn stop_pod(&self, pod: &PodUid, grace: Duration);
    /// Forgets the pod (it is gone from the API); reports nothing more about it.
    fn remove_pod(&self, pod: &PodUid);
    /// The pod changed in the API (its annotations, say); a runtime that steers anything by
    /// the pod object picks the change up here. The default ignores it.
    fn update_pod(&self, _pod: &Pod) {}
    /// The current usage of the pod's running app containers, by container name (init
    /// containers excluded); empty for a pod the runtime does not run.
    fn usage(&self, pod: &PodUid) -> Vec<(Arc<str>, ContainerUsage)>;
}
