//! A site's brain: which kind, where, and how much load it may get (`settings.brain`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::tenancy::ValidationError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BrainKind {
    /// Answers from the site's knowledge base only (no external service).
    #[default]
    KbOnly,
    /// The central AI brain (the site's chatbot backend) over HTTP, see docs/brain-contract.md.
    Http,
    /// An OpenAI-compatible chat-completions endpoint (`url` = its base, e.g. `https://llm.internal/v1`),
    /// with knowledge-base passages and the site's tools.
    Openai,
}

/// `settings.brain` of a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BrainSettings {
    pub kind: BrainKind,
    /// `http`: the brain endpoint (POST).
    pub url: Option<String>,
    /// `http`/`openai`: the key at the brain (sent as a Bearer token). Write-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// `openai`: the model name (default `gpt-4o-mini`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// No first answer text within this time → the call fails over (holding covers the wait).
    pub first_token_timeout_ms: u64,
    /// The whole answer must arrive within this time.
    pub total_timeout_ms: u64,
    /// Most questions of this site in flight at the brain at once (more → immediate failover).
    pub max_concurrent: usize,
    /// Consecutive failures that open the circuit breaker.
    pub breaker_failures: u32,
    /// How long the breaker stays open before one probe request.
    pub breaker_cooldown_ms: u64,
}

impl Default for BrainSettings {
    fn default() -> Self {
        BrainSettings {
            kind: BrainKind::KbOnly,
            url: None,
            api_key: None,
            model: None,
            first_token_timeout_ms: 8000,
            total_timeout_ms: 20000,
            max_concurrent: 4,
            breaker_failures: 5,
            breaker_cooldown_ms: 30000,
        }
    }
}

impl BrainSettings {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.kind != BrainKind::KbOnly {
            match &self.url {
                Some(u) => crate::tenancy::validation::http_url("settings.brain.url", u, false)?,
                None => {
                    return Err(ValidationError::new(
                        "settings.brain.url",
                        "required for kind http and openai",
                    ));
                }
            }
        }
        if !(100..=60_000).contains(&self.first_token_timeout_ms) {
            return Err(ValidationError::new(
                "settings.brain.first_token_timeout_ms",
                "must be between 100 and 60000",
            ));
        }
        if self.total_timeout_ms < self.first_token_timeout_ms || self.total_timeout_ms > 120_000 {
            return Err(ValidationError::new(
                "settings.brain.total_timeout_ms",
                "must be at least first_token_timeout_ms and at most 120000",
            ));
        }
        if !(1..=1000).contains(&self.max_concurrent) {
            return Err(ValidationError::new(
                "settings.brain.max_concurrent",
                "must be between 1 and 1000",
            ));
        }
        if self.breaker_failures == 0 {
            return Err(ValidationError::new(
                "settings.brain.breaker_failures",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}
