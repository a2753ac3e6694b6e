//! The sans-IO end-of-turn decision: VAD speech boundaries, Smart Turn results and the clock go
//! in, actions come out. No model, no audio, no timers of its own: the shell runs the model when
//! told and calls [`TurnDecider::on_timeout`] at [`TurnDecider::poll_timeout`].
//!
//! Rules, all measured from the end of speech (the VAD's `SpeechEnd { at }`):
//! - after `short_silence_ms` the model is asked ([`TurnAction::RunModel`]);
//! - P(complete) ≥ `threshold` → [`TurnAction::EndTurn`] at once;
//! - P below the threshold → keep listening until `max_wait_ms`, then end the turn anyway;
//! - speech resumes → the pending decision is cancelled (a late model result is ignored);
//! - no model, model failed or returned garbage → silence only: end at `fallback_silence_ms`.

use std::time::{Duration, Instant};

use super::TurnSettings;

/// Identifies one model run, so a result that arrives after the caller spoke again (or after
/// the turn ended) is recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModelRequest(u64);

/// Why a turn ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EndReason {
    /// Smart Turn said complete with this probability.
    Complete { probability: f32 },
    /// Smart Turn said incomplete (or was slow) and `max_wait_ms` of silence passed.
    MaxWait,
    /// Silence-only fallback: `fallback_silence_ms` passed without a usable model.
    Silence,
}

/// What the shell should do now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TurnAction {
    /// Nothing now; call [`TurnDecider::on_timeout`] at [`TurnDecider::poll_timeout`] (if any).
    KeepListening,
    /// Run Smart Turn on the audio `[audio_start, audio_end)` (stream time; the model keeps the
    /// last 8 s) off the audio thread, then report with `on_model_result`/`on_model_failed`.
    RunModel {
        request: ModelRequest,
        audio_start: Duration,
        audio_end: Duration,
    },
    /// The caller finished speaking at `speech_end` (stream time): take the turn.
    EndTurn {
        speech_end: Duration,
        reason: EndReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Model {
    /// Not used for this silence (disabled, absent or failed): silence decides.
    Off,
    /// Waiting for `short_silence` before asking.
    NotAsked,
    /// Asked; awaiting the result.
    Running(ModelRequest),
    /// Answered below the threshold: asked again at `next` (re-ask), `max_wait` decides.
    Incomplete { next: Option<Instant> },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// No turn in progress (before the caller speaks, or after a turn ended).
    Idle,
    /// The caller is speaking.
    Speaking,
    /// Speech ended at stream time `at`, which was wall-clock time `since`.
    Silent {
        at: Duration,
        since: Instant,
        model: Model,
    },
}

/// End-of-turn state for one caller stream.
#[derive(Debug, Clone)]
pub struct TurnDecider {
    settings: TurnSettings,
    model_available: bool,
    phase: Phase,
    /// Stream time of the current turn's first speech.
    turn_start: Duration,
    next_request: u64,
}

impl TurnDecider {
    /// `model_available`: whether a Smart Turn model is loaded; false = silence only.
    pub fn new(settings: TurnSettings, model_available: bool) -> Self {
        Self {
            settings,
            model_available,
            phase: Phase::Idle,
            turn_start: Duration::ZERO,
            next_request: 0,
        }
    }

    pub fn settings(&self) -> TurnSettings {
        self.settings
    }

    /// Turns the model on or off for the following silences (e.g. after repeated failures).
    pub fn set_model_available(&mut self, available: bool) {
        self.model_available = available;
    }

    /// True from the caller's first speech until the turn ends.
    pub fn in_turn(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// Forgets the current turn (the bot took the floor, barge-in handled elsewhere, new call).
    pub fn reset(&mut self) {
        self.phase = Phase::Idle;
    }

    /// The VAD's `SpeechStart { at }`. Starts a turn, or cancels a pending end of turn.
    pub fn on_speech_start(&mut self, at: Duration, _now: Instant) -> TurnAction {
        match self.phase {
            Phase::Idle => {
                self.turn_start = at;
                self.phase = Phase::Speaking;
            }
            Phase::Silent { .. } => self.phase = Phase::Speaking,
            Phase::Speaking => {}
        }
        TurnAction::KeepListening
    }

    /// The VAD's `SpeechEnd { at }`, delivered when the stream had reached `heard` (the VAD only
    /// reports an end after its own minimum silence, so `heard - at` of silence already passed).
    pub fn on_speech_end(&mut self, at: Duration, heard: Duration, now: Instant) -> TurnAction {
        if self.phase != Phase::Speaking {
            return TurnAction::KeepListening;
        }
        let since = now.checked_sub(heard.saturating_sub(at)).unwrap_or(now);
        let model = if self.model_available {
            Model::NotAsked
        } else {
            Model::Off
        };
        self.phase = Phase::Silent { at, since, model };
        self.on_timeout(now)
    }

    /// Smart Turn's P(complete) for `request`.
    pub fn on_model_result(
        &mut self,
        request: ModelRequest,
        probability: f32,
        now: Instant,
    ) -> TurnAction {
        let Phase::Silent { at, since, model } = self.phase else {
            return TurnAction::KeepListening;
        };
        if model != Model::Running(request) {
            return TurnAction::KeepListening;
        }
        if probability.is_nan() {
            return self.on_model_failed(request, now);
        }
        if probability >= self.settings.threshold {
            return self.end(at, EndReason::Complete { probability });
        }
        let next = (self.settings.reask_ms > 0).then(|| now + ms(self.settings.reask_ms));
        self.phase = Phase::Silent {
            at,
            since,
            model: Model::Incomplete { next },
        };
        self.on_timeout(now)
    }

    /// The model run for `request` failed: this silence falls back to silence only.
    pub fn on_model_failed(&mut self, request: ModelRequest, now: Instant) -> TurnAction {
        if let Phase::Silent {
            at,
            since,
            model: Model::Running(r),
        } = self.phase
            && r == request
        {
            self.phase = Phase::Silent {
                at,
                since,
                model: Model::Off,
            };
            return self.on_timeout(now);
        }
        TurnAction::KeepListening
    }

    /// When the shell must call [`Self::on_timeout`] next; `None` = only events matter now.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let Phase::Silent { since, model, .. } = self.phase else {
            return None;
        };
        let s = &self.settings;
        let after = match model {
            Model::Off => s.fallback_silence_ms,
            Model::NotAsked => s.short_silence_ms,
            Model::Running(_) | Model::Incomplete { .. } => s.max_wait_ms,
        };
        let deadline = since + ms(after);
        Some(match model {
            Model::Incomplete { next: Some(next) } => next.min(deadline),
            _ => deadline,
        })
    }

    /// Acts on whatever deadline passed by `now` (calling it early is harmless).
    pub fn on_timeout(&mut self, now: Instant) -> TurnAction {
        let Some(deadline) = self.poll_timeout() else {
            return TurnAction::KeepListening;
        };
        let Phase::Silent { at, since, model } = self.phase else {
            return TurnAction::KeepListening;
        };
        if now < deadline {
            return TurnAction::KeepListening;
        }
        let max_wait = since + ms(self.settings.max_wait_ms);
        match model {
            Model::Off => self.end(at, EndReason::Silence),
            Model::Running(_) | Model::Incomplete { next: None } => {
                self.end(at, EndReason::MaxWait)
            }
            Model::Incomplete { .. } if now >= max_wait => self.end(at, EndReason::MaxWait),
            Model::Incomplete { .. } | Model::NotAsked => {
                let request = ModelRequest(self.next_request);
                self.next_request += 1;
                self.phase = Phase::Silent {
                    at,
                    since,
                    model: Model::Running(request),
                };
                TurnAction::RunModel {
                    request,
                    audio_start: self
                        .turn_start
                        .saturating_sub(ms(self.settings.pre_speech_ms)),
                    audio_end: at + now.duration_since(since),
                }
            }
        }
    }

    fn end(&mut self, speech_end: Duration, reason: EndReason) -> TurnAction {
        self.phase = Phase::Idle;
        TurnAction::EndTurn { speech_end, reason }
    }
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

#[cfg(test)]
#[path = "decider_tests.rs"]
mod tests;
