//! vaarta-orchestrator: configuration, storage and the domain (sites, keys; later call sessions,
//! flows, campaigns), tool connectors and the voice-turn logic. Everything above the leaf crates
//! and below the API and workers.

pub mod audit;
pub mod brain;
pub mod calls;
pub mod campaigns;
pub mod config;
pub mod kb;
pub mod storage;
pub mod tenancy;
pub mod tools;
pub mod voice;

pub use config::Config;
pub use storage::{Backend, StorageError, Store};
