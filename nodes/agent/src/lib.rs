//! The Kybernetes node agent: registers Nodes, keeps their Leases and status fresh, and runs the
//! pods bound to them.
//!
//! Layers (each file has one job):
//! - `node`, `lease`, `addresses`: what a node looks like in the API (pure builders) and its
//!   simulated addresses (pod CIDR per node, pod IP pools).
//! - `registration`, `heartbeat`: creating nodes and leases concurrently; lease renewals and
//!   node status refreshes spread over their intervals.
//! - `pod`: the generic pod worker. `facts` (what we need from a Pod), `lifecycle` (the kubelet's
//!   pod lifecycle as a state machine returning effects), `status` (the status it reports),
//!   `worker` (one watch and one loop for every pod of the process; writes serialised per pod).
//! - `runtime`: the [`runtime::Runtime`] trait between the worker and what runs containers;
//!   `runtime::simulated` decides timings and exit codes without containers.
//! - `metrics`: the metrics reporter: PodMetrics of running pods and NodeMetrics per node,
//!   pushed to `metrics.k8s.io` (what `kubectl top` and the HPA read), coalesced and bounded.
//! - `simulated`: wires it together for N simulated nodes ([`simulated::run`]).
//! - `timers`: one timer heap instead of a task per timer.

pub mod addresses;
mod error;
pub mod heartbeat;
pub mod lease;
pub mod metrics;
pub mod node;
pub mod pod;
pub mod registration;
pub mod runtime;
pub mod simulated;
pub mod time;
pub mod timers;

pub use error::Error;
