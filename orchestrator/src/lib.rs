//! vaarta-orchestrator
