//! The host side of a flow: everything with IO (speech, brain, CRM tools, telephony) lives
//! behind [`FlowHost`], which the orchestrator implements (and the simulator mocks).
//!
//! All methods are *blocking* from the script's point of view. The runtime runs on its own
//! thread (the orchestrator calls [`crate::FlowProgram::run`] inside `tokio::task::spawn_blocking`)
//! and a host implementation typically sends a request over a channel and waits for the reply
//! (`blocking_recv`). Time spent inside host methods does not count against the step budget.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// Options for [`FlowHost::ask`], from the script's `ask(prompt, #{...})` map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AskOptions {
    /// How long to wait for the caller to start speaking.
    pub timeout_ms: u64,
    /// Collect DTMF digits (keypad) as well as speech.
    pub dtmf: bool,
    /// Stop collecting digits after this many.
    pub max_digits: Option<u32>,
    /// Whether the caller may barge in over the prompt.
    pub barge_in: bool,
    /// Speech recognition hints (names, product words).
    pub hints: Vec<String>,
    /// Expected reply language, if different from the call language.
    pub language: Option<String>,
}

impl Default for AskOptions {
    fn default() -> Self {
        Self {
            timeout_ms: 8000,
            dtmf: false,
            max_digits: None,
            barge_in: true,
            hints: Vec::new(),
            language: None,
        }
    }
}

/// What the caller said (or keyed) in reply to `ask` / `listen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reply {
    pub text: String,
    /// Detected language code ("hi", "en", "pa"...), empty when unknown.
    pub language: String,
    /// Recognition confidence 0..1.
    pub confidence: f64,
    /// DTMF digits pressed, if any.
    pub digits: String,
    /// The caller barged in over the prompt.
    pub interrupted: bool,
    /// Nothing was heard before the timeout.
    pub timed_out: bool,
}

/// A knowledge-base passage returned by `kb(query)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Passage {
    pub text: String,
    pub source: String,
    pub score: f64,
}

/// Result of a site tool (HTTP connector) call as the script sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolResponse {
    /// True for a 2xx answer.
    pub ok: bool,
    /// HTTP status (0 when no response arrived, e.g. timeout).
    pub status: u16,
    /// The mapped response (see connector `response` mapping).
    pub data: Value,
    /// A short speakable-free reason when `ok` is false.
    pub error: Option<String>,
}

/// Site-local time as the flow sees it (`now()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowClock {
    pub unix_ms: i64,
    /// Offset of the site's timezone from UTC, e.g. 330 for IST.
    pub utc_offset_minutes: i32,
}

impl FlowClock {
    /// The current system time in the given timezone offset.
    pub fn system(utc_offset_minutes: i32) -> Self {
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self {
            unix_ms,
            utc_offset_minutes,
        }
    }
}

/// Log level of `log(...)` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Debug,
}

/// Why a host call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostErrorKind {
    /// The caller hung up: the flow ends cleanly with [`crate::FlowOutcome::CallerHungUp`].
    CallerHungUp,
    /// A policy refused the call (tool not configured, host not allow-listed): fatal.
    Denied,
    /// A dependency (brain, kb) is unavailable: the script may `try`/`catch` it.
    Unavailable,
    /// Anything else, fatal.
    Failed,
}

/// An error returned by a host method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct HostError {
    pub kind: HostErrorKind,
    pub message: String,
}

impl HostError {
    pub fn new(kind: HostErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub fn hung_up() -> Self {
        Self::new(HostErrorKind::CallerHungUp, "caller hung up")
    }
}

pub type HostResult<T> = Result<T, HostError>;

/// The IO side of a running flow. One instance per call.
///
/// `transfer` and `hangup` are the *last* host calls of a run: after them the runtime ends the
/// script cleanly and returns the matching [`crate::FlowOutcome`].
pub trait FlowHost: Send {
    /// Speak `text` to the caller (blocks until queued/played, as the host prefers).
    fn say(&mut self, text: &str) -> HostResult<()>;
    /// Speak `prompt`, then wait for the caller's reply.
    fn ask(&mut self, prompt: &str, options: &AskOptions) -> HostResult<Reply>;
    /// Wait for the caller to say something without prompting.
    fn listen(&mut self, timeout: Duration) -> HostResult<Reply>;
    /// Ask the central AI brain; returns a speakable answer.
    fn brain(&mut self, question: &str) -> HostResult<String>;
    /// Search the site's knowledge base.
    fn kb(&mut self, query: &str) -> HostResult<Vec<Passage>>;
    /// Call a site-configured tool (HTTP connector) by name.
    fn tool(&mut self, name: &str, args: &Map<String, Value>) -> HostResult<ToolResponse>;
    /// Hand the call to `target` (a queue name, extension or number).
    fn transfer(&mut self, target: &str, reason: &str) -> HostResult<()>;
    /// End the call.
    fn hangup(&mut self, reason: &str) -> HostResult<()>;
    /// Attach a label to the call record.
    fn tag(&mut self, label: &str) -> HostResult<()>;
    /// Record the lead qualification result.
    fn qualify(&mut self, result: &Map<String, Value>) -> HostResult<()>;
    /// Switch the call language (TTS voice, STT language).
    fn set_language(&mut self, code: &str) -> HostResult<()>;
    /// Add the caller's number to the site's do-not-call list.
    fn opt_out(&mut self) -> HostResult<()>;
    /// Queue an email/webhook notification from a site template.
    fn notify(&mut self, template: &str, data: &Map<String, Value>) -> HostResult<()>;
    /// A script log line. Default: tracing.
    fn log(&mut self, level: LogLevel, message: &str) {
        match level {
            LogLevel::Info => tracing::info!(target: "vaarta_flows::script", "{message}"),
            LogLevel::Debug => tracing::debug!(target: "vaarta_flows::script", "{message}"),
        }
    }
    /// Site-local time. Default: system clock in IST.
    fn now(&mut self) -> FlowClock {
        FlowClock::system(330)
    }
}
