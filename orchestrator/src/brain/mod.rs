//! Brain clients: where a call's answers come from when a flow asks `brain(question)` or the
//! caller asks something the flow does not script. One trait, three implementations: the central
//! AI brain over HTTP (`http`), an OpenAI-compatible chat-completions endpoint (`openai`) and a
//! KB-only answerer (`kb_only`, the embedded default, no external service).

use std::pin::Pin;

pub mod breaker;
pub mod http;
pub mod kb_only;
pub mod openai;
pub mod provider;
pub mod settings;

pub use provider::SiteBrains;
pub use settings::{BrainKind, BrainSettings};

use futures::Stream;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One question to the brain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrainRequest {
    pub site_id: Uuid,
    /// Identifies the conversation to the brain (the call id).
    pub session_id: Uuid,
    /// Language code of the caller ("en", "hi", "pa").
    pub language: String,
    pub text: String,
    /// Earlier turns, oldest first.
    pub history: Vec<HistoryTurn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryTurn {
    /// "user" or "assistant".
    pub role: String,
    pub text: String,
}

/// Why the brain gave no (complete) answer. Every variant sends the call to failover.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BrainError {
    #[error("brain timed out after {0} ms")]
    Timeout(u64),
    #[error("brain unavailable: {0}")]
    Unavailable(String),
    /// Too many calls of this site are waiting on the brain already.
    #[error("brain concurrency cap reached")]
    Overloaded,
    /// The circuit breaker is open after repeated failures.
    #[error("brain circuit open")]
    CircuitOpen,
    #[error("brain answered badly: {0}")]
    BadAnswer(String),
}

/// The answer, streamed as text deltas (a client without streaming yields one item).
pub type AnswerStream = Pin<Box<dyn Stream<Item = Result<String, BrainError>> + Send>>;

/// A source of answers for calls.
pub trait Brain: Send + Sync {
    /// Starts answering; fails fast (cap, breaker, connect) before the stream starts.
    fn answer(
        &self,
        request: BrainRequest,
    ) -> Pin<Box<dyn std::future::Future<Output = Result<AnswerStream, BrainError>> + Send + '_>>;
}

/// Knowledge-base passages for a question (the KB service implements it; the LLM brain and the
/// KB-only answerer retrieve through it).
pub trait Retriever: Send + Sync {
    fn search<'a>(
        &'a self,
        site_id: Uuid,
        query: &'a str,
        top_k: usize,
    ) -> futures::future::BoxFuture<'a, Result<Vec<vaarta_flows::Passage>, String>>;
}
