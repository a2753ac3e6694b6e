//! Semantic end of turn for one call: the speech crate's sans-IO [`TurnDecider`] fed with the
//! caller VAD's boundaries, and Smart Turn run on a blocking thread over the caller's recent
//! audio. When the model hears a finished utterance the turn ends ~300 ms after the caller
//! stopped instead of after 700 ms of silence; an unfinished one ("mera order number hai…")
//! keeps the floor with the caller up to `max_wait_ms`. The turn taker still owns the rest
//! (the final transcript, barge-in, holding).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;
use vaarta_speech::turn::{ModelRequest, SmartTurn, TurnAction, TurnDecider, TurnSettings};
use vaarta_speech::vad::VadEvent;

use super::listener::Listener;

/// A model run's outcome, back on the call's loop.
pub(super) type ModelResult = (ModelRequest, Result<f32, String>);

pub(super) struct SemanticTurn {
    decider: TurnDecider,
    model: Arc<Mutex<SmartTurn>>,
    results: mpsc::Sender<ModelResult>,
}

impl SemanticTurn {
    pub fn new(
        settings: TurnSettings,
        model: Arc<Mutex<SmartTurn>>,
        results: mpsc::Sender<ModelResult>,
    ) -> Self {
        Self {
            decider: TurnDecider::new(settings, true),
            model,
            results,
        }
    }

    /// A VAD boundary; true when the turn is complete now.
    pub fn on_vad(&mut self, event: VadEvent, listener: &Listener, now: Instant) -> bool {
        let action = match event {
            VadEvent::SpeechStart { at } => self.decider.on_speech_start(at, now),
            VadEvent::SpeechEnd { at } => self.decider.on_speech_end(at, listener.position(), now),
        };
        self.act(action, listener)
    }

    /// A model result; true when the turn is complete now.
    pub fn on_result(
        &mut self,
        (request, result): ModelResult,
        listener: &Listener,
        now: Instant,
    ) -> bool {
        let action = match result {
            Ok(p) => {
                tracing::debug!(probability = p, "Smart Turn");
                self.decider.on_model_result(request, p, now)
            }
            Err(e) => {
                tracing::warn!(error = %e, "Smart Turn failed: this silence ends on time alone");
                self.decider.on_model_failed(request, now)
            }
        };
        self.act(action, listener)
    }

    /// A deadline passed; true when the turn is complete now.
    pub fn on_timeout(&mut self, listener: &Listener, now: Instant) -> bool {
        let action = self.decider.on_timeout(now);
        self.act(action, listener)
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.decider.poll_timeout()
    }

    /// Forgets a half-decided turn (the utterance was a backchannel, or the turn ended anyway).
    pub fn reset(&mut self) {
        self.decider.reset();
    }

    fn act(&mut self, action: TurnAction, listener: &Listener) -> bool {
        match action {
            TurnAction::KeepListening => false,
            TurnAction::EndTurn { reason, .. } => {
                tracing::debug!(?reason, "end of turn");
                metrics::counter!("vaarta_turn_ends_total", "reason" => reason_label(&reason))
                    .increment(1);
                true
            }
            TurnAction::RunModel {
                request,
                audio_start,
                audio_end,
            } => {
                let audio = listener.recent_audio(audio_start, audio_end);
                let (model, tx) = (self.model.clone(), self.results.clone());
                tokio::task::spawn_blocking(move || {
                    let started = Instant::now();
                    let audio = audio.to_16k();
                    let res = model
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .predict(&audio)
                        .map_err(|e| e.to_string());
                    metrics::histogram!("vaarta_turn_model_seconds")
                        .record(started.elapsed().as_secs_f64());
                    let _ = tx.blocking_send((request, res));
                });
                false
            }
        }
    }
}

fn reason_label(reason: &vaarta_speech::turn::EndReason) -> &'static str {
    match reason {
        vaarta_speech::turn::EndReason::Complete { .. } => "complete",
        vaarta_speech::turn::EndReason::MaxWait => "max_wait",
        vaarta_speech::turn::EndReason::Silence => "silence",
    }
}

/// The node's end-of-turn settings with the site's overrides.
pub(super) fn site_settings(node: TurnSettings, site: &super::SessionSettings) -> TurnSettings {
    let mut s = node;
    if let Some(ms) = site.turn_max_wait_ms {
        s.max_wait_ms = ms.max(s.short_silence_ms);
    }
    s
}

/// The turn taker's own end-of-turn silence when the model decides: a backstop just past the
/// decider's longest wait (the VAD already waited `short_silence_ms`).
pub(super) fn backstop_silence_ms(settings: &TurnSettings) -> u64 {
    u64::from(
        settings
            .max_wait_ms
            .saturating_sub(settings.short_silence_ms),
    ) + 200
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_sets_its_own_longest_wait_never_below_the_short_silence() {
        let node = TurnSettings::default();
        let mut site = super::super::SessionSettings::for_language("hi");
        assert_eq!(site_settings(node, &site), node);
        site.turn_max_wait_ms = Some(3000);
        let s = site_settings(node, &site);
        assert_eq!(
            (s.max_wait_ms, s.short_silence_ms),
            (3000, node.short_silence_ms)
        );
        assert_eq!(
            backstop_silence_ms(&s),
            u64::from(3000 - node.short_silence_ms) + 200
        );
        site.turn_max_wait_ms = Some(10);
        assert_eq!(
            site_settings(node, &site).max_wait_ms,
            node.short_silence_ms
        );
    }
}
