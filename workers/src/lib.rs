//! vaarta-workers: the background jobs, on durable apalis queues in the service's own
//! database (apalis-sqlite embedded, apalis-postgres shared by several nodes): audit
//! transcription of posted recordings, signed webhook delivery and notification email (lettre). Jobs are pushed through
//! `Store::jobs()` (orchestrator), so the API enqueues without depending on this crate.

pub mod dialer;
pub mod email;
pub mod runner;
pub mod signing;
pub mod transcribe;
pub mod webhook;

pub use runner::{Workers, WorkersDeps};
