//! Semantic end of turn with Smart Turn v3.2 (Pipecat's open model, BSD-2-Clause): instead of
//! waiting 700 ms of silence, ask a small audio model whether the caller sounds finished ~160 ms
//! after they stop, and end the turn at once when it says so. A thinking pause ("mera order
//! number hai … ek do teen") sounds unfinished, so the bot keeps listening there.
//!
//! - [`features`]: Whisper log-mel features of the last 8 s (what the model was trained on);
//! - [`SmartTurn`]: the ONNX model, `predict(&audio_16k) -> P(complete)`;
//! - [`TurnDecider`]: the sans-IO decision (VAD events + model results + clock → actions);
//! - [`TurnConfig`] / [`TurnSettings`] / [`TurnOverrides`]: `[speech.turn]` and per-site values.
//!
//! # Using the decider from a call shell
//!
//! One [`TurnDecider`] per caller stream, next to its `VadStream`; the shell keeps the caller's
//! audio (stream time = samples since the stream began) and owns the only timer:
//!
//! ```text
//! let mut turn = TurnDecider::new(config.settings.with_overrides(&site), model.is_some());
//! loop {
//!     select! {
//!         frame = audio => for ev in vad.push(&frame)? {
//!             let act = match ev {
//!                 VadEvent::SpeechStart { at } => turn.on_speech_start(at, Instant::now()),
//!                 VadEvent::SpeechEnd { at } => turn.on_speech_end(at, vad.position(), Instant::now()),
//!             };
//!             handle(act);
//!         },
//!         (req, res) = model_results => handle(match res {
//!             Ok(p) => turn.on_model_result(req, p, Instant::now()),
//!             Err(_) => turn.on_model_failed(req, Instant::now()),
//!         }),
//!         _ = sleep_until(turn.poll_timeout()) => handle(turn.on_timeout(Instant::now())),
//!     }
//! }
//! // handle(RunModel { request, audio_start, audio_end }): resample that slice to 16 kHz and run
//! //   SmartTurn::predict on a blocking thread; send (request, result) back. Never block here.
//! // handle(EndTurn { speech_end, reason }): the utterance is complete; run STT / the brain.
//! // handle(KeepListening): nothing.
//! ```
//!
//! Re-arm the sleep after every call (the deadline moves). Results for a cancelled request are
//! ignored by the decider, so the shell need not cancel model runs. When the model cannot be
//! loaded, build the decider with `model_available = false`: it ends turns after
//! `fallback_silence_ms` of silence, today's behaviour. Call [`TurnDecider::reset`] when the
//! bot takes the floor so a half-decided turn does not end later by itself.

mod config;
mod decider;
pub mod features;
mod model;

pub use config::{TurnConfig, TurnOverrides, TurnSettings};
pub use decider::{EndReason, ModelRequest, TurnAction, TurnDecider};
pub use model::{SmartTurn, TurnModelError};
