//! Watches: the hub that fans committed events out, and the per-watcher stream.

pub(crate) mod hub;
pub(crate) mod stream;
