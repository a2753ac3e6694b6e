//! The session's small pieces of state: settings resolved for the call, pending flow requests
//! and the per-turn latency clock.

use std::time::Instant;

use tokio::sync::oneshot;

use vaarta_flows::HostResult;

use super::host::HostReply;
use super::speaker::MsgId;
use crate::calls::types::TurnLatency;
use crate::tenancy::TransferTarget;
use crate::voice::{CallTextStream, TurnTakingConfig};

pub use crate::brain::Retriever;

/// A site's settings as one call uses them.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub turn: TurnTakingConfig,
    /// Starting language code ("hi", "en", "pa").
    pub language: String,
    /// Force the STT language (None: detect among the configured ones).
    pub stt_language: Option<String>,
    /// Holding messages per language tag.
    pub holding_messages: std::collections::BTreeMap<String, Vec<String>>,
    /// Named humans; the first is the default for failover.
    pub transfer_targets: Vec<TransferTarget>,
    pub utc_offset_minutes: i32,
    /// Record the call into this folder (the site records calls and the node has a folder).
    pub recording_dir: Option<std::path::PathBuf>,
    /// The end-of-turn model may end this call's turns (when the node has it).
    pub semantic_turn: bool,
    /// The site's `max_wait_ms` for the end-of-turn model (None: the node's).
    pub turn_max_wait_ms: Option<u32>,
}

impl SessionSettings {
    /// Defaults for a site with nothing configured.
    pub fn for_language(language: &str) -> Self {
        SessionSettings {
            turn: call_turn_defaults(),
            language: language.to_string(),
            stt_language: None,
            holding_messages: Default::default(),
            transfer_targets: Vec::new(),
            utc_offset_minutes: 330,
            recording_dir: None,
            semantic_turn: true,
            turn_max_wait_ms: None,
        }
    }
}

/// Turn taking for calls: the bot pauses within a frame of the VAD's speech start and resumes
/// from the same point when the caller only backchannelled ("hmm", "haan"); the decision window
/// covers a short word plus the VAD's end-of-speech silence.
pub fn call_turn_defaults() -> TurnTakingConfig {
    TurnTakingConfig {
        barge_in: crate::voice::BargeInMode::Pause,
        backchannel_window_ms: 900,
        // The final transcript is much better than the last partial (a cut-off "How much?" gets
        // the wrong answer): wait for it on a busy node; a holding line covers the wait, and
        // live finals go ahead of partials and audits on the STT pool.
        stt_final_timeout_ms: 8000,
        ..TurnTakingConfig::default()
    }
}

/// `ask`/`listen` waiting for the caller.
pub(super) struct AskWait {
    pub reply: oneshot::Sender<HostResult<HostReply>>,
    /// The prompt message; the timeout starts when it has played.
    pub prompt: Option<MsgId>,
    pub timeout: std::time::Duration,
    pub deadline: Option<Instant>,
    pub dtmf: bool,
    pub max_digits: Option<u32>,
    pub digits: String,
}

/// `brain(question)` streaming its answer.
pub(super) struct BrainWait {
    pub reply: oneshot::Sender<HostResult<HostReply>>,
    pub generation: u64,
    pub msg: Option<MsgId>,
    pub stream: CallTextStream,
    pub full: String,
}

/// Stage times of one caller turn and its answer.
#[derive(Debug, Clone, Default)]
pub(super) struct TurnClock {
    /// When the caller stopped speaking: the VAD's speech-end timestamp in the audio, mapped
    /// to the monotonic clock (the VAD decides `min_silence_ms` later).
    pub speech_end: Option<Instant>,
    pub stt_final: Option<Instant>,
    pub brain_first: Option<Instant>,
    pub first_audio: Option<Instant>,
    pub first_packet: Option<Instant>,
    pub answer_msg: Option<MsgId>,
    pub language: String,
    pub confidence: f32,
    /// When the final transcription was asked for (end of the end-of-turn silence).
    pub finalize_at: Option<Instant>,
    /// When the turn ended (STT final in, or its timeout with the last partial).
    pub eot_at: Option<Instant>,
    /// Model time (pool queue + compute) of the final transcription.
    pub stt_model: std::time::Duration,
    /// When the brain request went out (its wait is not Vaarta's overhead).
    pub brain_sent: Option<Instant>,
    /// Synthesis time of the answer's first sentence.
    pub tts_model: std::time::Duration,
}

impl TurnClock {
    pub fn latency(&self) -> TurnLatency {
        let since = |t: Option<Instant>| match (self.speech_end, t) {
            (Some(a), Some(b)) => Some(
                b.saturating_duration_since(a)
                    .as_millis()
                    .min(u128::from(u32::MAX)) as u32,
            ),
            _ => None,
        };
        // Vaarta's own time: from the end of the caller's turn (the STT stage is over: its final
        // came, or its timeout passed) to the first packet, minus the first TTS sentence's
        // synthesis and the brain's wait.
        let brain_wait = match (self.brain_sent, self.brain_first) {
            (Some(a), Some(b)) => b.saturating_duration_since(a),
            _ => std::time::Duration::ZERO,
        };
        let overhead_ms = match (self.eot_at, self.first_packet) {
            (Some(a), Some(b)) => {
                let total = b.saturating_duration_since(a);
                let own = total
                    .saturating_sub(brain_wait)
                    .saturating_sub(self.tts_model);
                Some(own.as_millis().min(u128::from(u32::MAX)) as u32)
            }
            _ => None,
        };
        TurnLatency {
            heard_ms: since(self.first_packet),
            turn_decision_ms: since(self.eot_at),
            stt_final_ms: since(self.stt_final),
            brain_first_token_ms: since(self.brain_first),
            first_tts_audio_ms: since(self.first_audio),
            first_packet_ms: since(self.first_packet),
            overhead_ms,
        }
    }
}
