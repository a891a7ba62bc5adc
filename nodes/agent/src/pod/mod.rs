//! The generic pod worker: which pods are ours (`facts`), what each one goes through
//! (`lifecycle`), what its status says (`status`), and the loop that ties them to the API and a
//! [`Runtime`](crate::runtime::Runtime) (`worker`, writing through `writes`).

pub mod facts;
pub mod lifecycle;
pub mod status;
pub mod worker;
mod writes;
