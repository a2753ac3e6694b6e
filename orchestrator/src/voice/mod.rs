//! The voice layer's pure parts: turn taking (barge-in, backchannels, end of turn, holding and
//! dead air) as a sans-IO state machine, and formatting chatbot answers for calls. The call
//! session feeds them events and text; they do no IO.

pub mod backchannel;
pub mod config;
pub mod format;
mod markdown;
mod phrasing;
pub mod turn_taking;

pub use backchannel::{BackchannelMatcher, Utterance};
pub use config::{BackchannelConfig, BargeInMode, FormatConfig, TurnTakingConfig, UrlPolicy};
pub use format::{CallTextStream, Channel, format_response, format_response_with};
pub use turn_taking::{BotAudio, StopReason, TurnAction, TurnEvent, TurnTaker};
/// The language a text is formatted and spoken in.
pub use vaarta_speech::normalize::Lang;
/// Sentence splitting for streaming TTS: the speech crate's splitter fits as it is.
pub use vaarta_speech::tts::split_sentences;
