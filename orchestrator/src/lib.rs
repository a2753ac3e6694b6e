//! vaarta-orchestrator
pub mod tools;
