//! Admission by speech capacity: a node takes a new call only while its speech engines can
//! serve one more. Refusing one new call (SIP 503, widget "busy") beats ruining every running
//! one with answers that come seconds late.
//!
//! The estimate is measured, not configured: the STT pool's moving average of a live final
//! transcription, times the finals a call asks for per second (one per caller turn, a turn every
//! `turn_interval_s`), against the pool's workers with `headroom` kept free. Partials are not
//! counted (the pool sheds them under load); audits wait behind live work.

use serde::{Deserialize, Serialize};
use vaarta_speech::pool::Priority;

use super::engines::SpeechEngines;

/// `[voice.capacity]`: admission by speech capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechCapacityConfig {
    /// Refuse calls beyond the measured capacity (`false`: only `max_calls` limits a node).
    pub enabled: bool,
    /// Share of the STT workers live calls may fill (0.1–1.0); the rest absorbs bursts.
    pub headroom: f64,
    /// Assumed seconds between the ends of two caller turns in one call.
    pub turn_interval_s: f64,
    /// Calls always admitted, whatever the estimate says (before the first measurement too).
    pub min_calls: usize,
}

impl Default for SpeechCapacityConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            headroom: 0.8,
            turn_interval_s: 6.0,
            min_calls: 2,
        }
    }
}

impl SpeechCapacityConfig {
    /// Calls this node's speech engines can serve now; `None` while nothing was measured yet
    /// or when the check is off.
    pub fn calls(&self, engines: &SpeechEngines) -> Option<usize> {
        if !self.enabled {
            return None;
        }
        let final_s = engines
            .stt
            .average_compute_for(Priority::Live)
            .as_secs_f64();
        if final_s <= 0.0 {
            return None;
        }
        let workers = engines.stt.workers() as f64;
        let per_call = final_s / self.turn_interval_s.max(0.5);
        let calls = (self.headroom.clamp(0.1, 1.0) * workers / per_call).floor() as usize;
        Some(calls.max(self.min_calls))
    }
}

/// Publishes the capacity and its use on `/metrics`.
pub fn record(capacity: Option<usize>, live: usize) {
    if let Some(c) = capacity {
        metrics::gauge!("vaarta_speech_capacity_calls").set(c as f64);
        metrics::gauge!("vaarta_speech_capacity_used_ratio").set(live as f64 / c.max(1) as f64);
    }
}
