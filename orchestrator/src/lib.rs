//! vaarta-orchestrator
pub mod tools;
pub mod voice;
