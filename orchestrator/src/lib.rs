//! vaarta-orchestrator: configuration, storage and the domain (sites, keys; later call sessions,
//! flows, campaigns). Everything above the leaf crates and below the API and workers.

pub mod config;
pub mod storage;
pub mod tenancy;

pub use config::Config;
pub use storage::{Backend, Store, StorageError};
