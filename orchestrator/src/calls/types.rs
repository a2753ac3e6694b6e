//! Call-session domain types shared by the session loop, the registry, storage and the API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Where the call comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallChannel {
    Sip,
    Widget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Life of a call: ringing → active → (holding ↔ active) → transferring → ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Ringing,
    Active,
    /// A holding message is playing while the answer is pending.
    Holding,
    Transferring,
    Ended,
}

/// Who spoke a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Caller,
    Bot,
}

/// How a call ended (stored on the call; analytics count these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// The flow finished and hung up: the AI handled it.
    Completed,
    /// Handed to a human (REFER or bridge succeeded).
    Transferred,
    /// A transfer was attempted and failed (a callback was scheduled).
    TransferFailed,
    /// The caller hung up before the flow finished.
    CallerHungUp,
    /// Refused before answer (busy, capacity, no route).
    Rejected,
    /// Outbound: nobody answered / busy / failed to connect.
    NoAnswer,
    Busy,
    Failed,
    /// Outbound: the callee rejected the call (603).
    Declined,
    /// Outbound: the number does not exist (404/484).
    InvalidNumber,
    /// Ended through the API.
    HungUpByApi,
}

/// Per-turn latency, milliseconds from the end of the caller's speech: the VAD's speech-end
/// timestamp in the audio (when the caller actually stopped), not the moment the VAD decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TurnLatency {
    /// What the caller hears: end of their speech → the answer's first audio packet sent.
    #[serde(default)]
    pub heard_ms: Option<u32>,
    /// End of speech → the end of the turn decided (VAD silence, end-of-turn wait, the final
    /// transcript).
    #[serde(default)]
    pub turn_decision_ms: Option<u32>,
    pub stt_final_ms: Option<u32>,
    pub brain_first_token_ms: Option<u32>,
    pub first_tts_audio_ms: Option<u32>,
    pub first_packet_ms: Option<u32>,
    /// Vaarta's own share of end of speech → first packet: everything except the end-of-turn
    /// silence, the STT stage (final transcript or its timeout), the first TTS sentence's
    /// synthesis and the brain's wait.
    pub overhead_ms: Option<u32>,
}

/// One line of the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TurnRecord {
    /// 0-based position in the call.
    pub seq: u32,
    pub speaker: Speaker,
    pub text: String,
    /// Language code ("en", "hi", "pa"), empty when unknown.
    pub language: String,
    /// STT confidence 0..1 for caller turns; 1 for bot turns.
    pub confidence: f32,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// Caller turns that barged in over the bot; bot turns cut short by a barge-in.
    pub interrupted: bool,
    /// Set on bot turns: latency of this answer.
    pub latency: Option<TurnLatency>,
}

/// What a call is, as the registry and the API see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallInfo {
    pub id: Uuid,
    pub site_id: Uuid,
    pub channel: CallChannel,
    pub direction: Direction,
    /// Caller number / SIP user / widget visitor id.
    pub caller: String,
    /// Dialled number or widget id.
    pub callee: String,
    /// Flow the call runs (name, version).
    pub flow: Option<String>,
    pub flow_version: Option<i64>,
    pub campaign_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub state: CallState,
    pub language: String,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<CallOutcome>,
    /// Free text: why it ended / why it was transferred.
    pub end_reason: Option<String>,
}

/// Something that happened on a call. Fanned out per site (SSE) and appended to the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallEvent {
    pub call_id: Uuid,
    pub site_id: Uuid,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: CallEventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallEventKind {
    /// A new call entered the registry.
    Started {
        call: Box<CallInfo>,
    },
    State {
        state: CallState,
    },
    /// STT partial of the caller's current utterance (not persisted).
    Partial {
        text: String,
    },
    /// A completed transcript line.
    Turn {
        turn: TurnRecord,
    },
    /// The bot started speaking this text (live captions; not persisted: the line is stored as
    /// a `turn` once spoken).
    BotSpeaking {
        text: String,
    },
    /// The caller only backchannelled ("haan", "hmm").
    Backchannel {
        text: String,
    },
    /// The caller talked over the bot; bot audio stopped.
    BargeIn {
        heard_ms: u32,
    },
    /// The holding message of this level started.
    Holding {
        level: u8,
        text: String,
    },
    Dtmf {
        digit: String,
    },
    /// A flow action (tag, qualify, tool call, opt_out, notify), for the log.
    Action {
        name: String,
        detail: serde_json::Value,
    },
    Transfer {
        target: String,
        reason: String,
        ok: Option<bool>,
    },
    /// Something failed (stt, tts, brain, flow, overload) and failover ran.
    Failure {
        stage: String,
        message: String,
    },
    Ended {
        outcome: CallOutcome,
        reason: String,
    },
}

/// Control from outside the call (API, supervisor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum CallCommand {
    Hangup { reason: String },
    Transfer { target: String, reason: String },
}
