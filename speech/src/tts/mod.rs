//! Text to speech: Piper VITS voices and Kokoro v1.0 through ONNX Runtime with espeak-ng
//! phonemes, spoken sentence by sentence and resampled to the leg's rate; espeak-ng's own
//! voices as the last fallback.
//!
//! Hindi and Punjabi are spoken by Kokoro's Hindi voice when `scripts/install-models` has
//! installed it (`[speech.tts.kokoro]`); code-mixed Hinglish is phonemised word by word
//! (Devanagari and romanised Hindi by the Hindi rules, English words by English ones).
//!
//! Other Piper voices (e.g. `hi_IN-*`): put the voice's `.onnx` and `.onnx.json` anywhere and
//! map a language to it in `[speech.tts.voices]` (`hi = "/srv/voices/hi_IN-x-medium.onnx"`).
//! A language without a Piper or Kokoro voice is spoken by espeak-ng (`[speech.tts.espeak_fallback]`, default
//! `hi` and `pa`), with a warning in the log each time.
//!
//! ```no_run
//! # use vaarta_speech::{onnx::OnnxRuntimeConfig, tts::{Tts, TtsConfig}};
//! let tts = Tts::new(&OnnxRuntimeConfig::default(), TtsConfig::default())?;
//! for chunk in tts.stream("Namaste! Your order ships today.", "en-IN", 8000)? {
//!     let chunk = chunk?; // one sentence, 8 kHz mono f32: send it while the next is made
//!     # let _ = chunk;
//! }
//! # Ok::<(), vaarta_speech::tts::TtsError>(())
//! ```

mod config;
mod engine;
pub mod espeak;
pub mod hinglish;
pub mod kokoro;
mod kokoro_g2p;
pub mod kokoro_phonemes;
mod sentences;
mod trim;
mod voice;

use std::path::PathBuf;

pub use config::{KokoroConfig, TtsConfig};
pub use engine::{AudioChunk, SentenceStream, Tts, VoiceKind};
pub use kokoro::KokoroVoice;
pub use kokoro_g2p::{G2pLang, phonemize as kokoro_phonemize};
pub use sentences::{split_first_clause, split_sentences};
pub use voice::{PiperVoice, PiperVoiceConfig};

use crate::onnx::OnnxError;
use crate::resample::ResampleError;

/// Errors from text to speech.
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error(transparent)]
    Resample(#[from] ResampleError),
    #[error("Piper voice config {path}: {message}")]
    VoiceConfig { path: PathBuf, message: String },
    #[error("Kokoro file {path}: {message}")]
    KokoroModel { path: PathBuf, message: String },
    #[error("no Kokoro voice named {0:?} is loaded (speech.tts.kokoro.voices)")]
    UnknownKokoroVoice(String),
    #[error("{0} phoneme tokens in one Kokoro pass; the limit is 510")]
    KokoroTooLong(usize),
    #[error("speech.tts.kokoro.speed must be between 0.5 and 2.0, got {0}")]
    BadKokoroSpeed(f32),
    #[error("espeak-ng: {0}")]
    Espeak(String),
    #[error("espeak-ng has no voice named {0:?}")]
    UnknownEspeakVoice(String),
    #[error(
        "no voice for language {0:?}: configure speech.tts.voices, speech.tts.kokoro.voices or speech.tts.espeak_fallback"
    )]
    UnsupportedLanguage(String),
    #[error("nothing to say: the text is empty")]
    EmptyText,
    #[error("text too long: {chars} characters, the limit is {max} (speech.tts.max_chars)")]
    TextTooLong { chars: usize, max: usize },
    #[error("output sample rate must be between 4000 and 192000 Hz, got {0}")]
    BadOutputRate(u32),
}
