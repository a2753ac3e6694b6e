//! Transcription results.

use serde::{Deserialize, Serialize};

/// One timed piece of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start, in ms from the beginning of the audio.
    pub start_ms: u64,
    /// End, in ms from the beginning of the audio.
    pub end_ms: u64,
    pub text: String,
    /// Whisper's probability that this window holds no speech.
    pub no_speech_prob: f32,
}

/// The result of transcribing one utterance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// Segment texts joined and trimmed.
    pub text: String,
    /// Language code (`en`, `hi`, `pa`, `ur`...): detected, fixed, or `en` for `.en` models.
    /// `None` for an empty transcript.
    pub language: Option<String>,
    /// What Whisper's detector heard when it differs from `language`: a language outside
    /// `SttConfig::detect_languages` (e.g. `ur`, `ta`) that was re-decided among them.
    /// Reported so the orchestrator can log it or offer another language.
    pub heard_language: Option<String>,
    pub segments: Vec<Segment>,
    /// Duration of the audio given, in ms.
    pub audio_ms: u64,
    /// Wall time spent in whisper.cpp, in ms.
    pub compute_ms: u64,
    /// Encoder frames used (the reduced `audio_ctx`, or the full context).
    pub audio_ctx: u32,
}

impl Transcript {
    /// True when nothing was recognised.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}
